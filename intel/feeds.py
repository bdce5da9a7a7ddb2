"""Keeping feeds: their settings (SOC admins) and "fetch now" (who may import).

``feed_save`` checks what the form cannot: the URL is one socapp may call now
(``netguard.check_url``; it is checked again at every fetch, this tells the admin at
once), a schedule or a TAXII/MISP feed format needs a URL, a CSV mapping reads. The
credentials are write-only: None keeps them, an empty dict clears them, and the audit
log says only that they changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from socapp import netguard
from socapp.audit import audit_record, model_changes
from socapp.users import User

from .choices import FeedFormat
from .imports.tabular import parse_mapping
from .models import ThreatIntel
from .polling import pollable
from .services import IMPORT_PERMISSION
from .tasks import poll_feed

SETTINGS = (
    "source_name", "provider", "description", "intel_type", "feed_format", "url", "tlp",
    "confidence_score", "poll_interval", "is_active", "valid_from", "valid_until",
)  # fmt: skip
# Options kept in ``metadata``: the TAXII collection, the CSV mapping and fixed type.
OPTIONS = ("collection", "mapping", "type")
NEEDS_URL = {FeedFormat.TAXII, FeedFormat.MISP_FEED}


def _snapshot(feed: ThreatIntel) -> dict[str, Any]:
    options = feed.metadata if isinstance(feed.metadata, dict) else {}
    return {
        **{name: str(getattr(feed, name)) for name in SETTINGS},
        **{name: options.get(name, "") for name in OPTIONS},
    }


def _check(feed: ThreatIntel) -> None:
    problems: dict[str, str] = {}
    if feed.url:
        try:
            netguard.check_url(feed.url)
        except netguard.OutboundRefused as exc:
            problems["url"] = f"socapp will not fetch this URL: {exc.reason}"
    elif feed.poll_interval or feed.feed_format in NEEDS_URL:
        problems["url"] = "Polling (a schedule, TAXII, a MISP feed) needs a URL."
    options = feed.metadata if isinstance(feed.metadata, dict) else {}
    if feed.feed_format == FeedFormat.CSV:
        try:
            parse_mapping(options.get("mapping") or None, options.get("type") or None)
        except ValueError as exc:
            problems["mapping"] = str(exc)
    taken = ThreatIntel.objects.filter(source_name=feed.source_name).exclude(pk=feed.pk)
    if taken.exists():
        problems["source_name"] = "A feed of that name exists."
    if problems:
        raise ValidationError(problems)


def feed_save(
    *,
    actor: User,
    feed: ThreatIntel | None,
    data: Mapping[str, Any],
    credentials: dict[str, Any] | None = None,
) -> ThreatIntel:
    """Create (``feed`` None) or change a feed from ``data`` (SETTINGS and OPTIONS);
    ``credentials`` None keeps the stored ones. ValidationError names the field."""
    needed = "intel.add_threatintel" if feed is None else "intel.change_threatintel"
    if not actor.has_perm(needed):
        raise PermissionDenied("Only SOC admins keep feeds.")
    creating = feed is None
    feed = feed or ThreatIntel()
    before = {} if creating else _snapshot(feed)
    for name in SETTINGS:
        if name in data:
            setattr(feed, name, data[name])
    options = dict(feed.metadata) if isinstance(feed.metadata, dict) else {}
    for name in OPTIONS:
        if name in data:
            options[name] = str(data[name] or "").strip()
    feed.metadata = options
    changed_secret = credentials is not None and credentials != (feed.credentials or {})
    if credentials is not None:
        # EncryptedJSONField is typed as a text field; it stores any JSON value.
        feed.credentials = credentials or None  # type: ignore[assignment]
    _check(feed)
    with transaction.atomic():
        feed.save()
        changes = model_changes(before, _snapshot(feed))
        if changed_secret:
            changes["credentials"] = ["(not shown)", "changed"]
        if changes or creating:
            action = "threatintel.create" if creating else "threatintel.update"
            audit_record(actor=actor, action=action, target=feed, changes=changes)
    return feed


def feed_fetch_now(*, actor: User, feed: ThreatIntel) -> None:
    """Queue a poll of ``feed`` now (the worker records its outcome on the feed), for
    those who may import; ValueError when the feed cannot be fetched."""
    if not actor.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied("Fetching a feed needs the import permission.")
    if not pollable(feed):
        raise ValueError("Only an active feed with a URL can be fetched.")
    if feed.polling_until and feed.polling_until > timezone.now():
        # The worker would skip a second poll (intel.polling claims the feed): say so now.
        raise ValueError("A fetch of this feed is running; its outcome will show here.")
    audit_record(actor=actor, action="threatintel.fetch", target=feed, changes={})
    feed_id = str(feed.pk)
    transaction.on_commit(lambda: poll_feed.delay(feed_id))
