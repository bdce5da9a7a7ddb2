"""The active indicator set as each process holds it: built once per change, shared by
every batch the process ingests.

Every change to indicators bumps a version counter in Redis (``indicators_changed``: the
model signals call it for saves and deletes; bulk writers call it themselves). A process
looks at the counter at most every INTEL_MATCH_CHECK_SECONDS, from ``fresh()`` (called
once per ingest batch, before the batch's COPY starts), and rebuilds its index when the
counter moved. As a safety net for a writer that forgot to bump, it also compares the
database's fingerprint of the active set (count, newest change) every
INTEL_MATCH_FINGERPRINT_SECONDS. Each process builds its own copy from the database
(about 1 s per 100,000 indicators, docs/INTEL-MATCHING.md); the version says when.

Indicators past their expiry stop matching at once (the index checks the time of each
hit); revoked, retired and allow-listed ones leave the index at the next rebuild, which
their change triggers.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from redis.exceptions import RedisError

from socapp.kv import kv, text

from . import warninglists
from .choices import IocStatus
from .matcher import MATCHED_TYPES, Indicator, IndicatorIndex
from .models import IOC

logger = logging.getLogger(__name__)

VERSION_KEY = "socapp:intel:indicators:version"
BUILD_CHUNK = 5000


def indicators_changed() -> None:
    """Tell every process the indicator set changed (after this transaction commits).
    Writers that bypass model signals (bulk_create, QuerySet.update) must call it."""
    transaction.on_commit(_bump)


def _bump() -> None:
    try:
        kv().incr(VERSION_KEY)
    except RedisError:  # the fingerprint check catches the change within a minute
        logger.warning("could not bump the indicator-set version", exc_info=True)


def current_version() -> str | None:
    try:
        value = kv().get(VERSION_KEY)
    except RedisError:
        return None
    return text(value) if value is not None else "0"


def active_indicators() -> Any:
    """The IOCs that match: active, of an active feed, not expired, of a matched type."""
    now = timezone.now()
    return IOC.objects.filter(
        status=IocStatus.ACTIVE, intel__is_active=True, ioc_type__in=MATCHED_TYPES
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def fingerprint() -> tuple[int, str]:
    """(count, newest change) of the active set: moves with any change that touched
    ``updated_at``, or added or removed a row."""
    found = active_indicators().aggregate(n=Count("id"), newest=Max("updated_at"))
    return int(found["n"]), str(found["newest"])


@dataclass
class BuildReport:
    loaded: int = 0
    skipped: int = 0
    on_warning_list: int = 0
    truncated: bool = False
    seconds: float = 0.0


def build_index(
    version: str = "", *, only: Iterable[Any] | None = None
) -> tuple[IndicatorIndex, BuildReport]:
    """A fresh index of the active indicators (at most INTEL_MATCH_MAX_INDICATORS, the
    most confident first when there are more); ``only``: of these IOC ids only."""
    started = time.perf_counter()
    report = BuildReport()
    index = IndicatorIndex(version=version)
    limit = int(settings.INTEL_MATCH_MAX_INDICATORS)
    chosen = active_indicators()
    if only is not None:
        chosen = chosen.filter(pk__in=only)
    rows = chosen.order_by("-confidence_score", "id")[: limit + 1]
    fields = (
        "id", "ioc_type", "value", "confidence_score", "last_seen", "first_seen",
        "created_at", "expires_at", "intel__source_name", "intel_id", "tlp",
    )  # fmt: skip
    for n, row in enumerate(rows.values_list(*fields).iterator(chunk_size=BUILD_CHUNK)):
        if n >= limit:
            report.truncated = True
            break
        pk, kind, value, confidence, last, first, created, expires, feed, feed_id, tlp = row
        if warninglists.hit(kind, value):
            report.on_warning_list += 1
            continue
        since = (last or first or created).timestamp()
        item = Indicator(
            id=str(pk),
            ioc_type=kind,
            value=value,
            confidence=float(confidence),
            since=since,
            expires=expires.timestamp() if expires else None,
            feed=feed,
            feed_id=str(feed_id),
            tlp=tlp,
        )
        index.add(item)
    index.seal()
    report.loaded, report.skipped = index.size, index.skipped
    report.seconds = time.perf_counter() - started
    if report.truncated:
        logger.warning(
            "more than INTEL_MATCH_MAX_INDICATORS (%d) active indicators: the least "
            "confident are not matched",
            limit,
        )
    return index, report


class IndicatorSet:
    """This process's index, rebuilt when the version (or the fingerprint) moved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.index = IndicatorIndex()
        self.report = BuildReport()
        self._checked = 0.0
        self._fingerprinted = 0.0
        self._version: str | None = None
        self._fingerprint: tuple[int, str] | None = None

    def fresh(self) -> IndicatorIndex:
        """The index, rebuilt first if the set changed. Reads Redis at most every
        INTEL_MATCH_CHECK_SECONDS and the database only to rebuild, or for the
        fingerprint every INTEL_MATCH_FINGERPRINT_SECONDS."""
        now = time.monotonic()
        if now - self._checked < float(settings.INTEL_MATCH_CHECK_SECONDS):
            return self.index
        with self._lock:
            self._checked = now
            version = current_version()
            # Redis unreachable (None): the fingerprint alone decides until it is back.
            stale = self._version is None or (version is not None and version != self._version)
            if not stale and now - self._fingerprinted >= float(
                settings.INTEL_MATCH_FINGERPRINT_SECONDS
            ):
                stale = fingerprint() != self._fingerprint
                self._fingerprinted = now
            if stale:
                self._rebuild(version if version is not None else "")
        return self.index

    def _rebuild(self, version: str) -> None:
        self._fingerprint = fingerprint()
        self._fingerprinted = time.monotonic()
        gc.unfreeze()  # the index being replaced may be collected
        self.index, self.report = build_index(version)
        self._version = version
        # The index lives until the next change: keeping its objects (hundreds of
        # thousands at 100,000 indicators) out of the collector's generations spares every
        # full collection between batches a walk through them (as the rule set does).
        gc.collect()
        gc.freeze()
        logger.info(
            "indicator set version %s: %d indicators in %.2f s",
            version,
            self.report.loaded,
            self.report.seconds,
        )

    def forget(self) -> None:
        """Drop the index: the next ``fresh`` rebuilds (tests, a changed setting)."""
        with self._lock:
            self._version = None
            self._checked = 0.0
            self.index = IndicatorIndex()


indicator_set = IndicatorSet()
