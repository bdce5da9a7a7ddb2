"""Fetching feeds on their schedule: TAXII 2.1 collections, MISP feeds, and URLs that
serve a STIX bundle, MISP events, a CSV or a plain list.

Every request is a ``fetching.fetch`` (netguard; the feed's credentials only to its own
origin); TAXII discovery and paging are in ``taxii``.

TAXII is fetched as the HTTP+JSON it is rather than through ``taxii2-client``: that
library uses ``requests``, whose connection pool resolves the name again at connect
time and follows redirects with its own rules; an adapter re-creating netguard's pinned
connection inside it would be more code than the three requests TAXII needs.

One poll is one import (one transaction): all the pages of a TAXII collection since
``added_after`` (at most ``INTEL_POLL_MAX_PAGES``), or the MISP events whose manifest
timestamp changed (at most ``INTEL_POLL_MAX_EVENTS``); where it stopped is kept in
``poll_state`` only when the import is stored, so a failed poll is retried whole.

Two polls of one feed never run together (beat's and "Fetch now", say): a poll first
claims the feed with one atomic UPDATE of ``polling_until``, which succeeds only when no
unexpired claim is there; the loser is skipped. A claim, not a row lock held for the
poll: that would keep a transaction open across minutes of HTTP and block every edit of
the feed meanwhile. The claim expires after ``INTEL_POLL_CLAIM_MINUTES``, so a worker
that dies mid-poll does not keep its feed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .choices import FeedFormat
from .fetching import PollFailed, fetch
from .imports import Collector, ImportRefused, Limits, collect
from .imports.mispfeed import MANIFEST, UUID, manifest_of, read_feed
from .imports.store import ImportResult, store
from .models import ThreatIntel
from .taxii import poll_taxii

__all__ = ["PollFailed", "claim", "due_feeds", "poll", "poll_alone", "pollable"]

logger = logging.getLogger(__name__)


def pollable(feed: ThreatIntel) -> bool:
    """Whether the feed can be fetched at all (its schedule aside): active, with a URL."""
    return feed.is_active and bool(feed.url)


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


def _claim_poll(feed: ThreatIntel) -> datetime | None:
    """Claim the feed for one poll; the claim's expiry (its token), or None when another
    poll holds an unexpired claim."""
    now = timezone.now()
    until = now + timedelta(minutes=settings.INTEL_POLL_CLAIM_MINUTES)
    claimed = (
        ThreatIntel.objects.filter(pk=feed.pk)
        .filter(Q(polling_until__isnull=True) | Q(polling_until__lte=now))
        .update(polling_until=until)
    )
    return until if claimed else None


def poll_alone(feed: ThreatIntel) -> ImportResult | None:
    """``poll``, unless another poll of the feed is running: then None (skipped)."""
    until = _claim_poll(feed)
    if until is None:
        logger.info("feed %s: a poll of it is already running; this one is skipped", feed.pk)
        return None
    try:
        return poll(feed)
    finally:  # only our own claim: one that expired may be another poll's by now
        ThreatIntel.objects.filter(pk=feed.pk, polling_until=until).update(polling_until=None)


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
            state = poll_taxii(feed, collector)
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
