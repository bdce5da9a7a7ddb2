"""Writing events and managing sources. Everything that stores events goes through
``events_write`` (COPY into the partitioned table); ingestion is in events/ingest.py."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from socapp.audit import audit_record
from socapp.ids import uuid7
from socapp.models import Team
from socapp.tokens import SOURCE_PREFIX, token_generate
from socapp.users import User

from .models import HourlyEventSummary, IngestBatch, Source
from .normalize import json_for_postgres
from .partitions import EVENT_ATTRIBUTES, EVENTS, ensure_partitions, partition_covering
from .records import EventRecord

EVENT_COLUMNS = (
    "event_id", "event_time", "source_ip", "dest_ip", "source_port", "dest_port", "protocol",
    "event_type", "raw_data", "normalized_data", "source_id", "event_type_id", "asset_id",
    "batch_id", "dedupe_key",
)  # fmt: skip
_COLUMN_LIST = ", ".join(EVENT_COLUMNS)


@dataclass(frozen=True)
class WriteResult:
    stored_ids: list[uuid.UUID]
    duplicates: int


def _jsonb(r: EventRecord) -> Jsonb:
    if r.normalized_json is not None:
        return Jsonb(r.normalized_json, dumps=_as_encoded)
    return Jsonb(r.normalized_data, dumps=json_for_postgres)


def _as_encoded(encoded: bytes) -> bytes:
    return encoded


def _row(source_id: Any, r: EventRecord) -> tuple[Any, ...]:
    return (
        r.event_id, r.event_time, r.source_ip, r.dest_ip, r.source_port, r.dest_port,
        r.protocol, r.event_type, r.raw_data, _jsonb(r), source_id,
        r.event_type_id, r.asset_id, r.batch_id, r.dedupe_key,
    )  # fmt: skip


# ---- rows as COPY text ---------------------------------------------------------------
# The ingest path formats its rows itself: psycopg's ``write_row`` picks a dumper per
# value, and four of the fifteen (the UUIDs and the jsonb) are Python functions; one
# f-string per row costs about half as much (docs/PERFORMANCE.md, issue 13). The text is
# what psycopg would send: COPY's text format, NULL as \N, backslash, newline, carriage
# return and tab escaped (nothing else is special in it). Values come from ``prepared``
# (events/ingest.py): text columns are already storable (no NUL, no lone surrogate).

COPY_CHUNK = 64 * 1024  # bytes of rows handed to psycopg at a time
_NULL = "\\N"


def copy_text(value: str) -> str:
    """``value`` as a field of COPY's text format."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    return value


def uuid_text(value: uuid.UUID | None) -> str:
    """A UUID as COPY text: its 32 hex digits (PostgreSQL reads them without dashes)."""
    return _NULL if value is None else format(value.int, "032x")


def copy_line(source_text: str, r: EventRecord) -> bytes:
    """``r`` as one line of ``COPY events (EVENT_COLUMNS)`` text; ``source_text`` is the
    source's id as ``uuid_text`` (the same for every row)."""
    document = r.normalized_json
    if document is None:
        document = json_for_postgres(r.normalized_data)
    if b"\\" in document:  # JSON escapes its control characters, not its backslashes
        document = document.replace(b"\\", b"\\\\")
    source_port, dest_port = r.source_port, r.dest_port
    head = (
        f"{r.event_id.int:032x}\t{r.event_time.isoformat()}\t{r.source_ip or _NULL}\t"
        f"{r.dest_ip or _NULL}\t{_NULL if source_port is None else source_port}\t"
        f"{_NULL if dest_port is None else dest_port}\t{copy_text(r.protocol)}\t"
        f"{copy_text(r.event_type)}\t{copy_text(r.raw_data)}\t"
    )
    dedupe_key = r.dedupe_key
    tail = (
        f"\t{source_text}\t{uuid_text(r.event_type_id)}\t{uuid_text(r.asset_id)}\t"
        f"{uuid_text(r.batch_id)}\t{_NULL if dedupe_key is None else copy_text(dedupe_key)}\n"
    )
    return head.encode() + document + tail.encode()


def prepare_partitions(records: Sequence[EventRecord]) -> None:
    """Make the partitions a write will need. Call it before the writing transaction:
    partition DDL commits on its own connection (events/partitions.py)."""
    times = [r.event_time for r in records]
    ensure_partitions(EVENTS, times)
    if any(r.attributes for r in records):
        ensure_partitions(EVENT_ATTRIBUTES, times)


def events_write(*, source_id: Any, records: Sequence[EventRecord]) -> WriteResult:
    """COPY ``records`` into ``events`` inside the caller's transaction.

    Records without a natural key go straight in. Records with one go through a staging
    table and ``INSERT ... ON CONFLICT DO NOTHING``, so a record already stored for this
    source (an overlapping re-send) is counted as a duplicate instead of stored twice.
    Rows are sorted by event time first: time-ordered arrival keeps each partition's
    indexes warm and loads measurably faster (docs/PERFORMANCE.md).
    """
    ordered = sorted(records, key=lambda r: r.event_time)
    plain = [r for r in ordered if r.dedupe_key is None]
    keyed = [r for r in ordered if r.dedupe_key is not None]
    stored = [r.event_id for r in plain]
    with connection.cursor() as cursor:
        if plain:
            with cursor.cursor.copy(f"COPY events ({_COLUMN_LIST}) FROM STDIN") as copy:
                for r in plain:
                    copy.write_row(_row(source_id, r))
        if keyed:
            stored += _write_deduplicated(cursor, source_id, keyed)
        _copy_attributes(cursor, ordered)
    return WriteResult(stored_ids=stored, duplicates=len(keyed) - (len(stored) - len(plain)))


class NoPartitionRoom(Exception):
    """A record whose time needs one more new partition than its batch may make."""


class StreamingWriter:
    """COPY events into ``events`` while they are still being parsed, in the caller's
    transaction.

    The database works on the rows already sent while Python parses the next ones, so
    the two cores overlap instead of taking turns (parse everything, then COPY). Rows go
    straight into ``events``, natural keys included: a key already stored for this source
    (an overlapping re-send, rare) makes the COPY fail on the unique constraint, and then
    the batch is written again through the de-duplicating path of ``events_write``.
    Repeats of a key inside the batch are dropped as they arrive. A row whose time no
    known partition covers ends the COPY, gets its partition, and a new COPY carries on
    (a new statement sees the new partition).
    """

    def __init__(self, source_id: Any) -> None:
        self.source_id = source_id
        self.records: list[EventRecord] = []
        self.in_batch_duplicates = 0
        self._partition: Any = None  # the last partition written to: usually the next one
        self._keys: set[tuple[str, datetime]] = set()
        self._cursor: Any = None
        self._copy: Any = None
        self._copy_context: Any = None
        self._savepoint: Any = None
        self._conflict = False  # a stored key was hit: only collect, rewrite at the end
        self._source_text = uuid_text(source_id)
        self._pending = bytearray()  # rows not yet handed to the COPY
        self.partitions_made = 0

    def __enter__(self) -> StreamingWriter:
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self._cursor = connection.cursor()
        return self

    def _open(self) -> None:
        self._copy_context = self._cursor.cursor.copy(f"COPY events ({_COLUMN_LIST}) FROM STDIN")
        self._copy = self._copy_context.__enter__()

    def _close(self) -> None:
        """End the current COPY; a natural-key conflict switches to collecting only."""
        if self._copy_context is None:
            return
        try:
            self._send()
        except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
            self._conflicted(exc)
            return
        context, self._copy_context, self._copy = self._copy_context, None, None
        try:
            context.__exit__(None, None, None)
        except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
            self._conflict = True
            self._savepoint.__exit__(type(exc), exc, exc.__traceback__)

    def _send(self) -> None:
        """Hand the pending rows to the COPY."""
        if self._pending:
            pending, self._pending = self._pending, bytearray()
            self._copy.write(pending)

    def _conflicted(self, exc: BaseException) -> None:
        """The server reported a stored natural key while rows were still being sent."""
        self._copy_context = self._copy = None
        self._pending = bytearray()
        self._conflict = True
        self._savepoint.__exit__(type(exc), exc, exc.__traceback__)

    def add(self, record: EventRecord) -> None:
        """Send ``record`` into the COPY. Raises ``NoPartitionRoom`` (nothing kept) when
        its time needs a new partition and this batch has made its share of them."""
        self._make_room(record)
        if record.dedupe_key is not None:
            key = (record.dedupe_key, record.event_time)
            if key in self._keys:
                self.in_batch_duplicates += 1
                return
            self._keys.add(key)
        if record.normalized_json is not None:
            # Kept until the batch commits (ids, times, attributes, and the rewrite after
            # a conflict, which sends the encoded document): the parsed one is the bulk of
            # a record's memory and nothing reads it any more.
            record.normalized_data = {}
        self.records.append(record)
        if self._conflict:
            return
        if self._copy is None:
            self._open()
        self._pending += copy_line(self._source_text, record)
        if len(self._pending) < COPY_CHUNK:
            return
        try:
            self._send()
        except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
            self._conflicted(exc)  # the server may report it while rows are still sent

    def _make_room(self, record: EventRecord) -> None:
        """A partition for the record's time: usually the last one written to. A new one
        is made at most EVENTS_MAX_NEW_PARTITIONS_PER_BATCH times a batch: each is DDL
        and lasting catalog entries, and times are whatever a sender claims (1970 to
        tomorrow is 680 months, 20,000 days)."""
        if self._partition is not None and self._partition.covers(record.event_time):
            return
        self._partition = partition_covering(EVENTS, record.event_time)
        if self._partition is not None:
            return
        limit = settings.EVENTS_MAX_NEW_PARTITIONS_PER_BATCH
        if self.partitions_made >= limit:
            raise NoPartitionRoom(
                f"its time ({record.event_time:%Y-%m-%d}) needs a partition that does not "
                f"exist, and this batch has made EVENTS_MAX_NEW_PARTITIONS_PER_BATCH ({limit}); "
                "send old history in smaller batches, or raise the setting"
            )
        self._close()  # a new COPY statement will see the new partition
        ensure_partitions(EVENTS, [record.event_time])
        self.partitions_made += 1
        self._partition = partition_covering(EVENTS, record.event_time)

    def finish(self) -> WriteResult:
        """End the COPY; after a natural-key conflict, write again without duplicates."""
        try:
            self._close()
        except BaseException as exc:
            self.abort(exc)
            raise
        self._cursor.close()
        if self._conflict:
            result = events_write(source_id=self.source_id, records=self.records)
            return WriteResult(
                stored_ids=result.stored_ids,
                duplicates=result.duplicates + self.in_batch_duplicates,
            )
        self._savepoint.__exit__(None, None, None)
        if any(r.attributes for r in self.records):
            ensure_partitions(EVENT_ATTRIBUTES, [r.event_time for r in self.records])
            with connection.cursor() as cursor:
                _copy_attributes(cursor, self.records)
        return WriteResult(
            stored_ids=[r.event_id for r in self.records], duplicates=self.in_batch_duplicates
        )

    def abort(self, exc: BaseException) -> None:
        """Give up: roll back what this writer sent (the caller re-raises ``exc``)."""
        self._copy_context = self._copy = None
        self._pending = bytearray()
        if not self._conflict:
            self._savepoint.__exit__(type(exc), exc, exc.__traceback__)
        self._cursor.close()


def _write_deduplicated(
    cursor: Any, source_id: Any, records: Sequence[EventRecord]
) -> list[uuid.UUID]:
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS events_staging "
        "(LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    with cursor.cursor.copy(f"COPY events_staging ({_COLUMN_LIST}) FROM STDIN") as copy:
        for r in records:
            copy.write_row(_row(source_id, r))
    cursor.execute(
        f"INSERT INTO events ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM events_staging "  # noqa: S608
        "ON CONFLICT (source_id, dedupe_key, event_time) DO NOTHING RETURNING event_id"
    )
    inserted = [row[0] for row in cursor.fetchall()]
    cursor.execute("DELETE FROM events_staging")
    return inserted


def _copy_attributes(cursor: Any, records: Sequence[EventRecord]) -> None:
    rows = [
        (uuid7(), r.event_id, r.event_time, name, value, data_type)
        for r in records
        for name, (value, data_type) in r.attributes.items()
    ]
    if not rows:
        return
    with cursor.cursor.copy(
        "COPY event_attributes (attribute_id, event_id, event_time, name, value, data_type) "
        "FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


def events_store(*, source: Source, records: Sequence[EventRecord]) -> list[uuid.UUID]:
    """Store ``records`` for ``source`` in a transaction of their own; returns the stored
    ids. (Ingestion uses ``events_ingest``, which also keeps the batch and counters.)"""
    if not records:
        return []
    prepare_partitions(records)
    with transaction.atomic():
        result = events_write(source_id=source.pk, records=records)
        Source.objects.filter(pk=source.pk).update(last_seen=timezone.now())
    return result.stored_ids


# ---- sources -------------------------------------------------------------------------


def source_issue_token(*, source: Source, actor: User | None) -> str:
    """A new ingest token for ``source`` (the old one stops working); returns the
    plaintext, which is never stored."""
    new = token_generate(SOURCE_PREFIX)
    with transaction.atomic():
        source.token_prefix = new.lookup_prefix
        source.token_digest = new.digest
        source.token_created_at = timezone.now()
        source.token_revoked_at = None
        source.save(
            update_fields=[
                "token_prefix",
                "token_digest",
                "token_created_at",
                "token_revoked_at",
                "updated_at",
            ]
        )
        audit_record(
            actor=actor,
            action="source.token_issue",
            target=source,
            changes={"token_prefix": new.lookup_prefix},
        )
    return new.plaintext


def source_revoke_token(*, source: Source, actor: User) -> None:
    with transaction.atomic():
        source.token_revoked_at = timezone.now()
        source.save(update_fields=["token_revoked_at", "updated_at"])
        audit_record(actor=actor, action="source.token_revoke", target=source)


def source_create(
    *,
    name: str,
    log_format: str,
    team: Team,
    actor: User | None,
    source_type: str = "other",
    senders: list[str] | None = None,
    time_zone: str = "UTC",
    description: str = "",
) -> tuple[Source, str]:
    """A new source with its first ingest token; returns both (the token in clear once)."""
    with transaction.atomic():
        source = Source(
            name=name,
            format=log_format,
            team=team,
            source_type=source_type,
            senders=senders or [],
            time_zone=time_zone,
            description=description,
        )
        source.full_clean()
        source.save()
        audit_record(
            actor=actor,
            action="source.create",
            target=source,
            changes={"format": log_format, "team": team.name, "senders": senders or []},
        )
        token = source_issue_token(source=source, actor=actor)
    return source, token


def hourly_summary_refresh() -> None:
    """Refresh the ``hourly_event_summary`` view and note when (dashboards show it)."""
    from django.core.cache import cache

    # CONCURRENTLY keeps the view readable during the refresh (it needs the unique index
    # created with the view in migration 0001).
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY hourly_event_summary")
    cache.set(HourlyEventSummary.REFRESHED_CACHE_KEY, timezone.now().timestamp(), timeout=None)


# ---- the hand-off to correlation ------------------------------------------------------


def batch_lock_uncorrelated(*, batch_id: uuid.UUID | str) -> IngestBatch | None:
    """Row-lock the committed batch ``batch_id`` for the caller's transaction while
    correlation evaluates it. None when it is already correlated or another worker holds
    it right now (skip the lock rather than wait: that worker is doing the same work)."""
    return (
        IngestBatch.objects.select_for_update(skip_locked=True)
        .filter(pk=batch_id, correlated_at__isnull=True)
        .first()
    )


def batch_mark_correlated(*, batch: IngestBatch) -> None:
    """Correlation has evaluated every event of ``batch`` (the sweeper stops re-sending it)."""
    batch.correlated_at = timezone.now()
    batch.save(update_fields=["correlated_at"])
