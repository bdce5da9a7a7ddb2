"""Fetching feeds on their schedule: TAXII 2.1 collections, MISP feeds, and URLs that
serve a STIX bundle, MISP events, a CSV or a plain list.

Every request goes through ``socapp.netguard`` (the resolved address checked at connect
time, redirects re-checked, one deadline, at most ``INTEL_IMPORT_MAX_BYTES`` read).
The feed's credentials are sent only to the feed URL's own origin: a TAXII ``next``
link, a MISP event or a redirect to another host gets none (netguard drops them on a
cross-origin redirect; ``_headers`` leaves them off a request to another origin).

TAXII is fetched as the HTTP+JSON it is rather than through ``taxii2-client``: that
library uses ``requests``, whose connection pool resolves the name again at connect
time and follows redirects with its own rules; an adapter re-creating netguard's pinned
connection inside it would be more code than the three requests TAXII needs.

One poll is one import (one transaction): all the pages of a TAXII collection since
``added_after`` (at most ``INTEL_POLL_MAX_PAGES``), or the MISP events whose manifest
timestamp changed (at most ``INTEL_POLL_MAX_EVENTS``); where it stopped is kept in
``poll_state`` only when the import is stored, so a failed poll is retried whole.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode, urljoin

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from socapp import netguard

from .choices import FeedFormat
from .imports import Collector, ImportRefused, ImportTooLarge, Limits, collect
from .imports.base import as_dict, as_list, load_json
from .imports.mispfeed import MANIFEST, UUID, manifest_of, read_feed
from .imports.stix import read_objects
from .imports.store import ImportResult, store
from .models import ThreatIntel

TAXII_MEDIA = "application/taxii+json;version=2.1"
TAXII_PAGE = 1000


class PollFailed(Exception):
    """The feed could not be fetched or read; the message is shown on the feed page."""


def due_feeds() -> list[ThreatIntel]:
    """Active feeds with a URL and a schedule whose interval has passed."""
    now = timezone.now()
    return list(
        ThreatIntel.objects.filter(is_active=True, poll_interval__isnull=False)
        .exclude(url="")
        .filter(Q(last_fetch_at__isnull=True) | Q(last_fetch_at__lte=now - F("poll_interval")))
    )


def claim(feed: ThreatIntel) -> bool:
    """Mark the feed's fetch as started, unless another beat run did so first: the next
    run sees ``last_fetch_at`` recent and leaves it alone while the poll runs."""
    now = timezone.now()
    claimed = (
        ThreatIntel.objects.filter(pk=feed.pk)
        .filter(Q(last_fetch_at__isnull=True) | Q(last_fetch_at__lte=now - F("poll_interval")))
        .update(last_fetch_at=now)
    )
    return claimed == 1


def _credentials(feed: ThreatIntel) -> dict[str, Any]:
    return feed.credentials if isinstance(feed.credentials, dict) else {}


def _headers(feed: ThreatIntel, url: str, accept: str) -> dict[str, str]:
    headers = {"Accept": accept, "User-Agent": "socapp-intel"}
    if netguard.origin(url) != netguard.origin(feed.url):
        return headers
    credentials = _credentials(feed)
    if credentials.get("username"):
        pair = f"{credentials['username']}:{credentials.get('password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    if credentials.get("api_key"):  # MISP: the key is the Authorization header
        headers["Authorization"] = str(credentials["api_key"])
    for name, value in (credentials.get("headers") or {}).items():
        headers[str(name)] = str(value)
    return headers


def _secret_names(feed: ThreatIntel) -> frozenset[str]:
    credentials = _credentials(feed)
    return frozenset(str(name).lower() for name in credentials.get("headers") or {})


def fetch(feed: ThreatIntel, url: str, accept: str = "*/*") -> netguard.Fetched:
    limit = settings.INTEL_IMPORT_MAX_BYTES
    try:
        fetched = netguard.request(
            "GET",
            url,
            headers=_headers(feed, url, accept),
            timeout=settings.INTEL_POLL_TIMEOUT_SECONDS,
            max_bytes=limit,
            max_redirects=3,
            secret_headers=_secret_names(feed),
        )
    except netguard.OutboundRefused as exc:
        raise PollFailed(f"{url}: refused: {exc.reason}") from None
    except (OSError, TimeoutError) as exc:
        raise PollFailed(f"{url}: {exc}") from None
    if fetched.truncated:
        raise ImportTooLarge(f"{url}: the answer is larger than {limit:,} bytes or too slow.")
    if fetched.status != 200:
        raise PollFailed(f"{url}: HTTP {fetched.status}")
    return fetched


def _poll_taxii(feed: ThreatIntel, collector: Collector) -> dict[str, Any]:
    """All pages added after the last poll; the new ``added_after``."""
    collection = feed.url if feed.url.endswith("/") else feed.url + "/"
    added_after = feed.poll_state.get("added_after")
    query: dict[str, str] = {"limit": str(TAXII_PAGE)}
    if added_after:
        query["added_after"] = added_after
    total = 0
    for _ in range(settings.INTEL_POLL_MAX_PAGES):
        url = urljoin(collection, "objects/") + "?" + urlencode(query)
        fetched = fetch(feed, url, TAXII_MEDIA)
        total += len(fetched.body)
        collector.limits.check_bytes(total, "the collection's pages")
        envelope = as_dict(load_json(fetched.body, collector.limits, url), url)
        read_objects(as_list(envelope.get("objects"), f"{url}: objects"), collector)
        added_after = fetched.headers.get("x-taxii-date-added-last") or added_after
        following = envelope.get("next")
        if not envelope.get("more") or not isinstance(following, str):
            break
        query = {"limit": str(TAXII_PAGE), "next": following[:1000]}
        if feed.poll_state.get("added_after"):
            query["added_after"] = feed.poll_state["added_after"]
    return {"added_after": added_after} if added_after else {}


def _poll_misp_feed(feed: ThreatIntel, collector: Collector) -> dict[str, Any]:
    base = feed.url if feed.url.endswith("/") else feed.url + "/"
    manifest = manifest_of(fetch(feed, urljoin(base, MANIFEST)).body, collector.limits)

    def load(uuid: str) -> bytes:
        assert UUID.match(uuid)  # manifest_of accepted only uuids: nothing else is fetched
        return fetch(feed, urljoin(base, f"{uuid}.json")).body

    known = feed.poll_state.get("events") or {}
    state = read_feed(manifest, load, collector, known, settings.INTEL_POLL_MAX_EVENTS)
    return {"events": state}


def poll(feed: ThreatIntel) -> ImportResult:
    """Fetch the feed and import what it holds; records the outcome on the feed (time,
    error, counts) whether it worked or not. Raises nothing for a feed's failure."""
    limits = Limits.from_settings()
    fmt = feed.feed_format or FeedFormat.STIX
    try:
        if fmt == FeedFormat.TAXII:
            collector = Collector(limits)
            state = _poll_taxii(feed, collector)
        elif fmt == FeedFormat.MISP_FEED:
            collector = Collector(limits)
            state = _poll_misp_feed(feed, collector)
        else:
            options = feed.metadata if isinstance(feed.metadata, dict) else {}
            collector = collect(
                fmt, fetch(feed, feed.url).body, mapping=options.get("mapping"),
                ioc_type=options.get("type"), limits=limits, name=feed.url,
            )  # fmt: skip
            state = {}
        result = store(actor=None, feed=feed, collector=collector, fmt=fmt, origin=feed.url)
    except (PollFailed, ImportRefused, ValueError) as exc:
        _record(feed, error=str(exc)[:2000], counts={})
        return ImportResult(feed=feed.source_name, format=fmt)
    _record(feed, error="", counts=result.counts(), state={**feed.poll_state, **state})
    return result


def _record(
    feed: ThreatIntel, *, error: str, counts: dict[str, int], state: dict[str, Any] | None = None
) -> None:
    feed.last_fetch_at = timezone.now()
    feed.last_fetch_error = error
    feed.last_fetch_counts = counts
    fields = ["last_fetch_at", "last_fetch_error", "last_fetch_counts"]
    if state is not None:
        feed.poll_state = state
        fields.append("poll_state")
    feed.save(update_fields=fields)
