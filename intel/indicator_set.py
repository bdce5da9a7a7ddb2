"""The active indicator set as each process holds it: built once per change, shared by
every batch the process ingests.

Every change to indicators bumps a version counter in Redis (``indicators_changed``: the
model signals call it for saves and deletes; bulk writers call it themselves). A process
looks at the counter at most every INTEL_MATCH_CHECK_SECONDS, from ``fresh()`` (called
once per ingest batch, before the batch's COPY starts), and rebuilds its index when the
counter moved. As a safety net for a writer that forgot to bump, it also compares the
database's fingerprint of the active set (count, newest change) every
INTEL_MATCH_FINGERPRINT_SECONDS. Each process builds its own copy from the database
(1 to 4 s per 100,000 indicators, docs/INTEL-MATCHING.md); the version says when. The
first index of a process is built by the batch that needs it; later ones in a background
thread while batches keep matching with the previous one (``IndicatorSet``).

Indicators past their expiry stop matching at once (the index checks the time of each
hit); revoked, retired and allow-listed ones leave the index at the next rebuild, which
their change triggers.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections, transaction
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
    """This process's index, rebuilt when the version (or the fingerprint) moved.

    The first index of the process is built by the batch that needs it (it waits: its
    events must not go unmatched). Later rebuilds run in a background thread, one at a
    time, while batches keep matching with the index they replace; the new index is
    swapped in whole when it is ready. A batch that matched with an index replaced
    before or after it committed reports its event times (``batch_matched``): the
    indicators the new index added are then searched for in that window by a retro-hunt,
    so an event ingested during a build loses no match.
    """

    def __init__(self, builder: Callable[..., tuple[IndicatorIndex, BuildReport]] | None = None):
        self._lock = threading.Lock()
        self.builder = builder or build_index
        self._empty = self.index = IndicatorIndex()  # before the first build
        self.report = BuildReport()
        self._checked = 0.0
        self._fingerprinted = 0.0
        self._version: str | None = None
        self._fingerprint: tuple[int, str] | None = None
        self._thread: threading.Thread | None = None
        self._epoch = 0  # moved by forget(): a build begun before it is thrown away
        self._collect = False  # a new index was swapped in: freeze it at the next batch
        # Event times of the committed batches that matched with the index being replaced.
        self._stale_window: tuple[datetime, datetime] | None = None
        self.builds = 0  # indexes built by this process (tests and logs count them)

    @property
    def building(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def fresh(self) -> IndicatorIndex:
        """The index to match this batch with. Reads Redis at most every
        INTEL_MATCH_CHECK_SECONDS and the database only to rebuild, or for the
        fingerprint every INTEL_MATCH_FINGERPRINT_SECONDS. Without an index yet, builds
        it (the batch waits); with one, starts a background build and returns the one
        it has."""
        if self._collect:
            self._freeze()
        now = time.monotonic()
        if now - self._checked < float(settings.INTEL_MATCH_CHECK_SECONDS):
            return self.index
        with self._lock:
            self._checked = now
            if self.building:
                return self.index  # the check after it lands looks again
            version = current_version()
            # Redis unreachable (None): the fingerprint alone decides until it is back.
            stale = self._version is None or (version is not None and version != self._version)
            if not stale and now - self._fingerprinted >= float(
                settings.INTEL_MATCH_FINGERPRINT_SECONDS
            ):
                stale = fingerprint() != self._fingerprint
                self._fingerprinted = now
            if stale:
                version = version if version is not None else ""
                if self._version is None:
                    self._install(*self._build(version), version=version)
                    self._freeze()
                else:
                    self._start(version)
        return self.index

    def _build(self, version: str) -> tuple[IndicatorIndex, BuildReport, tuple[int, str]]:
        found = fingerprint()  # before the index: a change after it is seen again
        index, report = self.builder(version)
        return index, report, found

    def _install(
        self, index: IndicatorIndex, report: BuildReport, found: tuple[int, str], *, version: str
    ) -> IndicatorIndex:
        """Swap ``index`` in (the lock held); the index it replaces."""
        old = self.index
        self.index, self.report = index, report
        self._version, self._fingerprint = version, found
        self._fingerprinted = time.monotonic()
        self.builds += 1
        logger.info(
            "indicator set version %s: %d indicators in %.2f s",
            version, report.loaded, report.seconds,
        )  # fmt: skip
        return old

    def _start(self, version: str) -> None:
        epoch = self._epoch
        self._thread = threading.Thread(
            target=self._build_in_background,
            args=(version, epoch),
            name=f"indicator-set-{version}",
            daemon=True,
        )
        self._thread.start()

    def _build_in_background(self, version: str, epoch: int) -> None:
        try:
            index, report, found = self._build(version)
            with self._lock:
                if epoch != self._epoch:
                    return  # forgotten meanwhile
                old = self._install(index, report, found, version=version)
                window, self._stale_window = self._stale_window, None
                self._collect = True
            if window is not None:
                _catch_up(index, old, window)
        except Exception:  # the next check tries again
            logger.exception("building indicator set version %s failed", version)
        finally:
            connections.close_all()  # this thread's own connection

    def _freeze(self) -> None:
        """The index lives until the next change: keeping its objects (hundreds of
        thousands at 100,000 indicators) out of the collector's generations spares every
        full collection between batches a walk through them (as the rule set does). Done
        by an ingest batch before it makes its records, so none of them is frozen."""
        self._collect = False
        gc.unfreeze()  # the index replaced may be collected
        gc.collect()
        gc.freeze()

    def batch_matched(self, used: IndicatorIndex, first: datetime, last: datetime) -> None:
        """A batch that matched its events (times ``first`` to ``last``) with ``used`` has
        committed. If a newer index replaced ``used``, or is being built, the indicators
        it adds are searched for in those events by a retro-hunt (now, or when the new
        index is swapped in)."""
        if used is self._empty:
            return  # the process had no index yet (a batch before ``forget``)
        with self._lock:
            current = self.index
            if used is current:
                if self.building:
                    self._stale_window = _widen(self._stale_window, first, last)
                return
        _catch_up(current, used, (first, last))

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the build in progress, if any; True when none is left."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.building

    def forget(self) -> None:
        """Drop the index: the next ``fresh`` rebuilds (tests, a changed setting). A
        build in progress is waited for (at most a minute) and thrown away."""
        self.wait(60)
        with self._lock:
            self._epoch += 1
            self._thread = None
            self._version = None
            self._checked = 0.0
            self._stale_window = None
            self._empty = self.index = IndicatorIndex()


def _widen(
    window: tuple[datetime, datetime] | None, first: datetime, last: datetime
) -> tuple[datetime, datetime]:
    if window is None:
        return first, last
    return min(window[0], first), max(window[1], last)


def _catch_up(new: IndicatorIndex, old: IndicatorIndex, window: tuple[datetime, datetime]) -> None:
    """A retro-hunt of the events of ``window`` (event time) for the indicators ``new``
    has and ``old`` had not: events matched with ``old`` while ``new`` was built."""
    added = new.ids() - old.ids()
    if not added:
        return
    from .retrohunts import retro_hunt_request

    first, last = window
    try:
        with transaction.atomic():
            retro_hunt_request(ioc_ids=sorted(added), since=first, until=last)
    except Exception:
        logger.exception("could not ask for the catch-up retro-hunt of %d indicators", len(added))
    else:
        logger.info("catch-up retro-hunt of %d indicators over %s to %s", len(added), first, last)


indicator_set = IndicatorSet()
