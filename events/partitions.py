"""Time partitions of the events tables: created ahead of time, dropped by retention.

Partitions are day, week or month ranges in UTC (``EVENTS_PARTITION_INTERVAL``), named
after their first day: ``events_p20261101``. Three things create them: the beat task
``maintain_event_partitions`` (the current interval and ``EVENTS_PARTITION_PREMAKE``
ahead), the ingest path (whatever times a batch carries, so an event of any date lands
in a partition) and ``Event.save``. Retention drops whole partitions whose range ended
more than ``EVENTS_RETENTION_DAYS`` ago.

Partition DDL runs on a connection of its own, committed at once, so it never rides on
a caller's transaction (a rollback there would otherwise undo a partition this process
believes exists). New partitions are created standalone and then ATTACHed, and old
ones DETACHed CONCURRENTLY before they are dropped: both take only a SHARE UPDATE
EXCLUSIVE lock on the parent, so ingestion and searches never queue behind them.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionedTable:
    name: str
    key: str = "event_time"


EVENTS = PartitionedTable("events")
EVENT_ATTRIBUTES = PartitionedTable("event_attributes")
PARTITIONED_TABLES = (EVENTS, EVENT_ATTRIBUTES)


@dataclass(frozen=True, order=True)
class Partition:
    start: datetime
    end: datetime
    name: str = ""

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


# ---- interval arithmetic -------------------------------------------------------------


def interval_start(moment: datetime, interval: str) -> datetime:
    moment = moment.astimezone(UTC)
    day = moment.date()
    if interval == "week":
        day = day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    elif interval == "month":
        day = day.replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def interval_after(start: datetime, interval: str) -> datetime:
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(days=7)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month, day=1)


def interval_range(moment: datetime, interval: str) -> tuple[datetime, datetime]:
    start = interval_start(moment, interval)
    return start, interval_after(start, interval)


def partition_name(table: PartitionedTable, start: datetime) -> str:
    return f"{table.name}_p{start:%Y%m%d}"


# ---- what exists ---------------------------------------------------------------------

_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")

_cache_lock = threading.Lock()
_cache: dict[str, tuple[float, list[Partition]]] = {}
CACHE_SECONDS = 60.0  # another process's retention may drop what we saw


def _read_partitions(cursor: CursorWrapper, table: PartitionedTable) -> list[Partition]:
    cursor.execute(
        """
        SELECT child.relname, pg_get_expr(child.relpartbound, child.oid)
          FROM pg_inherits
          JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
          JOIN pg_class child ON child.oid = pg_inherits.inhrelid
         WHERE parent.relname = %s AND parent.relnamespace = 'public'::regnamespace
           AND NOT pg_inherits.inhdetachpending
        """,
        [table.name],
    )
    partitions = []
    for name, bound in cursor.fetchall():
        match = _BOUND.search(bound or "")
        if match:  # a DEFAULT partition has no range; we never create one
            start, end = (datetime.fromisoformat(v).astimezone(UTC) for v in match.groups())
            partitions.append(Partition(start, end, name))
    return sorted(partitions)


def list_partitions(table: PartitionedTable = EVENTS) -> list[Partition]:
    with connections["default"].cursor() as cursor:
        return _read_partitions(cursor, table)


def _cached_partitions(table: PartitionedTable) -> list[Partition] | None:
    with _cache_lock:
        entry = _cache.get(table.name)
        if entry and time.monotonic() - entry[0] < CACHE_SECONDS:
            return entry[1]
    return None


def _remember(table: PartitionedTable, partitions: list[Partition]) -> None:
    with _cache_lock:
        _cache[table.name] = (time.monotonic(), partitions)


def forget_cached_partitions() -> None:
    with _cache_lock:
        _cache.clear()


# ---- creating ------------------------------------------------------------------------


def _gaps(
    start: datetime, end: datetime, existing: list[Partition]
) -> list[tuple[datetime, datetime]]:
    """Sub-ranges of [start, end) no existing partition covers (after an interval change,
    old partitions may overlap a new interval's range only in part)."""
    gaps, cursor_at = [], start
    for part in existing:
        if part.end <= cursor_at or part.start >= end:
            continue
        if part.start > cursor_at:
            gaps.append((cursor_at, part.start))
        cursor_at = max(cursor_at, part.end)
        if cursor_at >= end:
            break
    if cursor_at < end:
        gaps.append((cursor_at, end))
    return gaps


def _ddl_connection() -> BaseDatabaseWrapper:
    return connections.create_connection("default")


def _lock_key(table: PartitionedTable) -> str:
    return f"socapp:partitions:{table.name}"


def _create_ranges(table: PartitionedTable, ranges: set[tuple[datetime, datetime]]) -> list[str]:
    created: list[str] = []
    ddl = _ddl_connection()
    try:
        with ddl.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SET LOCAL lock_timeout = '30s'")
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_lock_key(table)])
            existing = _read_partitions(cursor, table)
            for start, end in sorted(ranges):
                for gap_start, gap_end in _gaps(start, end, existing):
                    name = partition_name(table, gap_start)
                    cursor.execute(
                        f'CREATE TABLE IF NOT EXISTS "{name}" '
                        f'(LIKE "{table.name}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'
                    )
                    cursor.execute(
                        f'ALTER TABLE "{table.name}" ATTACH PARTITION "{name}" '
                        f"FOR VALUES FROM (%s) TO (%s)",
                        [gap_start, gap_end],
                    )
                    existing = sorted([*existing, Partition(gap_start, gap_end, name)])
                    created.append(name)
            cursor.execute("COMMIT")
            _remember(table, existing)
    finally:
        ddl.close()
    if created:
        logger.info("created partitions %s", ", ".join(created))
    return created


def partition_covering(table: PartitionedTable, moment: datetime) -> Partition | None:
    """The partition this process knows of that covers ``moment`` (no query unless the
    cached list is stale)."""
    known = _cached_partitions(table)
    if known is None:
        known = list_partitions(table)
        _remember(table, known)
    return next((part for part in known if part.covers(moment)), None)


def ensure_partitions(
    table: PartitionedTable, moments: Iterable[datetime], interval: str | None = None
) -> list[str]:
    """Make sure a partition covers each moment; returns the names of any created."""
    interval = interval or settings.EVENTS_PARTITION_INTERVAL
    known = _cached_partitions(table)
    if known is None:
        known = list_partitions(table)
        _remember(table, known)
    needed = {
        interval_range(moment, interval)
        for moment in set(moments)
        if not any(part.covers(moment) for part in known)
    }
    if not needed:
        return []
    return _create_ranges(table, needed)


def create_partitions_ahead(now: datetime | None = None) -> list[str]:
    """The current interval and EVENTS_PARTITION_PREMAKE intervals after it, every table."""
    now = now or datetime.now(tz=UTC)
    interval = settings.EVENTS_PARTITION_INTERVAL
    moments, start = [], interval_start(now, interval)
    for _ in range(settings.EVENTS_PARTITION_PREMAKE + 1):
        moments.append(start)
        start = interval_after(start, interval)
    created: list[str] = []
    for table in PARTITIONED_TABLES:
        forget_cached_partitions()
        created += ensure_partitions(table, moments, interval)
    return created


# ---- retention -----------------------------------------------------------------------


def retention_cutoff(now: datetime | None = None) -> datetime | None:
    days = settings.EVENTS_RETENTION_DAYS
    if days <= 0:
        return None
    return (now or datetime.now(tz=UTC)) - timedelta(days=days)


def drop_expired_partitions(now: datetime | None = None) -> list[str]:
    """Drop every partition whose whole range ended before the retention cutoff.

    Only events and their attributes go: alerts, correlations and IOC sightings refer
    to events by key, without foreign keys, and keep their own copies of what they show.
    """
    cutoff = retention_cutoff(now)
    if cutoff is None:
        return []
    dropped: list[str] = []
    ddl = _ddl_connection()
    try:
        with ddl.cursor() as cursor:
            cursor.execute("SET lock_timeout = '30s'")
            for table in PARTITIONED_TABLES:
                _finalize_pending_detach(cursor, table)
                for part in _read_partitions(cursor, table):
                    if part.end <= cutoff:
                        # CONCURRENTLY cannot run in a transaction block: autocommit here.
                        cursor.execute(
                            f'ALTER TABLE "{table.name}" DETACH PARTITION "{part.name}" '
                            "CONCURRENTLY"
                        )
                        cursor.execute(f'DROP TABLE "{part.name}"')
                        dropped.append(part.name)
    finally:
        ddl.close()
        forget_cached_partitions()
    if dropped:
        logger.info("retention dropped partitions %s (cutoff %s)", ", ".join(dropped), cutoff)
    return dropped


def _finalize_pending_detach(cursor: CursorWrapper, table: PartitionedTable) -> None:
    """Finish a DETACH ... CONCURRENTLY that an earlier, interrupted run left pending."""
    cursor.execute(
        """
        SELECT child.relname FROM pg_inherits
          JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
          JOIN pg_class child ON child.oid = pg_inherits.inhrelid
         WHERE parent.relname = %s AND pg_inherits.inhdetachpending
        """,
        [table.name],
    )
    for (name,) in cursor.fetchall():
        cursor.execute(f'ALTER TABLE "{table.name}" DETACH PARTITION "{name}" FINALIZE')


def partition_for_day(day: date, table: PartitionedTable = EVENTS) -> Partition | None:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return next((p for p in list_partitions(table) if p.covers(moment)), None)
