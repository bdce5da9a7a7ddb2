"""The ingest service: records in, committed events out, for every transport.

``events_ingest`` parses a batch with the source's parser, normalizes it, and in one
transaction stores the events (COPY), the quarantined records, the batch with its
counts (and idempotency key) and the source's counters. Only then does it return, so
"accepted" always means "committed". After commit it asks the correlation worker, by
task name, to evaluate the batch; if that message is lost, the sweeper finds the batch
by its empty ``correlated_at`` and asks again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from socapp.ids import uuid7

from .choices import EventCategory
from .models import EventType, IngestBatch, QuarantinedRecord, Source
from .normalize import to_record
from .parsers import ParseContext, ParsedEvent, RawRecord, Rejected, parser_for
from .services import EventRecord, events_write, prepare_partitions

logger = logging.getLogger(__name__)

CORRELATE_TASK = "correlation.tasks.correlate_batch"
MAX_ERRORS_REPORTED = 100


class IdempotencyConflict(Exception):
    """The idempotency key was used before, with a different body."""


@dataclass
class IngestResult:
    batch_id: str
    accepted: int
    duplicates: int
    quarantined: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False  # the answer given to the first call with this key

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "errors": self.errors,
        }


def body_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _result_of(batch: IngestBatch, replayed: bool) -> IngestResult:
    return IngestResult(
        batch_id=str(batch.pk),
        accepted=batch.accepted,
        duplicates=batch.duplicates,
        quarantined=batch.quarantined,
        errors=list(batch.errors),
        replayed=replayed,
    )


def _replay(source: Source, key: str, digest: str) -> IngestResult | None:
    batch = IngestBatch.objects.filter(source=source, idempotency_key=key).first()
    if batch is None:
        return None
    if batch.body_digest != digest:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was already used for a different body "
            f"(batch {batch.pk}); use a new key for new data."
        )
    return _result_of(batch, replayed=True)


# ---- event types ---------------------------------------------------------------------

_type_ids: dict[str, Any] = {}
_type_lock = threading.Lock()
_types_loaded = time.monotonic()
TYPE_CACHE_SECONDS = 300.0  # an admin may delete or rename a type
_CATEGORIES = set(EventCategory.values)


def event_type_id(name: str, category: str | None) -> Any:
    """The EventType row for ``name``, made on first sight (outside any transaction)."""
    global _types_loaded
    with _type_lock:
        if time.monotonic() - _types_loaded > TYPE_CACHE_SECONDS:
            _type_ids.clear()
            _types_loaded = time.monotonic()
        if name in _type_ids:
            return _type_ids[name]
    chosen = category if category in _CATEGORIES else EventCategory.OTHER
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO event_types (id, name, category, description, schema, "
            "severity_default, created_at) VALUES (%s, %s, %s, '', '{}', 1, now()) "
            "ON CONFLICT (name) DO NOTHING",
            [uuid7(), name, chosen],
        )
    type_id = EventType.objects.filter(name=name).values_list("pk", flat=True).first()
    with _type_lock:
        _type_ids[name] = type_id
    return type_id


def forget_event_types() -> None:
    with _type_lock:
        _type_ids.clear()


def _category_of(event: ParsedEvent) -> str | None:
    categories = event.fields.get("event", {}).get("category")
    if isinstance(categories, list) and categories:
        return categories[0]
    return categories if isinstance(categories, str) else None


# ---- the service -----------------------------------------------------------------------


def _zone(name: str) -> Any:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def parse_batch(
    source: Source,
    records: Sequence[RawRecord],
    *,
    log_format: str | None,
    received_at: datetime,
    batch_id: Any,
    sender: str | None = None,
) -> tuple[list[EventRecord], list[Rejected]]:
    context = ParseContext(
        received_at=received_at,
        time_zone=_zone(source.time_zone),
        source_name=source.name,
        sender=sender,
    )
    parse = parser_for(log_format or source.format)
    events: list[EventRecord] = []
    rejected: list[Rejected] = []
    for result in parse(records, context):
        if isinstance(result, Rejected):
            rejected.append(result)
            continue
        try:
            type_id = event_type_id(result.event_type, _category_of(result))
            events.append(
                to_record(result, received_at=received_at, event_type_id=type_id, batch_id=batch_id)
            )
        except (ValueError, TypeError, OverflowError) as exc:  # normalization refused it
            rejected.append(Rejected(result.number, result.raw, f"cannot normalize: {exc}"))
    return events, rejected


def events_ingest(
    *,
    source: Source,
    records: Sequence[RawRecord],
    transport: str,
    log_format: str | None = None,
    idempotency_key: str | None = None,
    digest: str = "",
    size: int = 0,
    sender: str | None = None,
    received_at: datetime | None = None,
    rejected: Sequence[Rejected] = (),
) -> IngestResult:
    """Parse, normalize and store one batch for ``source``; returns once committed.

    ``rejected`` carries input the transport itself could not read (a truncated syslog
    frame, a line of an NDJSON body that is not JSON): it is quarantined with the rest.
    """
    if idempotency_key:
        replay = _replay(source, idempotency_key, digest)
        if replay is not None:
            return replay
    received_at = received_at or timezone.now()
    batch_id = uuid7()
    events, refused = parse_batch(
        source,
        records,
        log_format=log_format,
        received_at=received_at,
        batch_id=batch_id,
        sender=sender,
    )
    rejected = sorted([*rejected, *refused], key=lambda r: r.number)
    prepare_partitions(events)
    originals = {r.number: r for r in records}
    try:
        batch = _store(
            source,
            batch_id,
            events,
            rejected,
            originals,
            transport=transport,
            log_format=log_format or source.format,
            key=idempotency_key,
            digest=digest,
            size=size,
            received_at=received_at,
        )
    except IntegrityError:
        # Someone stored the same key a moment ago: theirs is the answer (or a conflict).
        if idempotency_key:
            replay = _replay(source, idempotency_key, digest)
            if replay is not None:
                return replay
        raise
    return _result_of(batch, replayed=False)


def _raw_bytes(rejected: Rejected, originals: dict[int, RawRecord]) -> bytes:
    original = originals.get(rejected.number)
    if original is not None and original.original is not None:
        return original.original
    raw = rejected.raw
    return raw if isinstance(raw, bytes) else str(raw).encode("utf-8", errors="replace")


def _store(
    source: Source,
    batch_id: Any,
    events: list[EventRecord],
    rejected: list[Rejected],
    originals: dict[int, RawRecord],
    *,
    transport: str,
    log_format: str,
    key: str | None,
    digest: str,
    size: int,
    received_at: datetime,
) -> IngestBatch:
    errors = [{"line": r.number, "reason": r.reason} for r in rejected[:MAX_ERRORS_REPORTED]]
    if len(rejected) > MAX_ERRORS_REPORTED:
        errors.append(
            {
                "line": None,
                "reason": f"and {len(rejected) - MAX_ERRORS_REPORTED} more; see the quarantine",
            }
        )
    times = [e.event_time for e in events]
    with transaction.atomic():
        batch = IngestBatch.objects.create(
            id=batch_id,
            source=source,
            transport=transport,
            idempotency_key=key,
            body_digest=digest,
            bytes=size,
            errors=errors,
            received_at=received_at,
            first_event_time=min(times) if times else None,
            last_event_time=max(times) if times else None,
        )
        written = events_write(source_id=source.pk, records=events)
        QuarantinedRecord.objects.bulk_create(
            QuarantinedRecord(
                source=source,
                batch=batch,
                parser=log_format,
                reason=r.reason[:2000],
                raw=_raw_bytes(r, originals),
                line_number=r.number or None,
                received_at=received_at,
            )
            for r in rejected
        )
        batch.accepted = len(written.stored_ids)
        batch.duplicates = written.duplicates
        batch.quarantined = len(rejected)
        batch.committed_at = timezone.now()
        if not written.stored_ids:
            batch.correlated_at = batch.committed_at  # nothing for correlation to do
        batch.save(
            update_fields=["accepted", "duplicates", "quarantined", "committed_at", "correlated_at"]
        )
        Source.objects.filter(pk=source.pk).update(
            last_seen=batch.committed_at,
            accepted_count=F("accepted_count") + batch.accepted,
            duplicate_count=F("duplicate_count") + batch.duplicates,
            quarantined_count=F("quarantined_count") + batch.quarantined,
            bytes_received=F("bytes_received") + size,
        )
        if written.stored_ids:
            transaction.on_commit(lambda: request_correlation(str(batch_id)))
    return batch


def request_correlation(batch_id: str) -> None:
    """Ask a correlation worker to evaluate a committed batch. A lost message costs only
    latency: the sweeper re-sends batches whose ``correlated_at`` stays empty."""
    from socapp.celery import app

    try:
        # By name: the events app does not import the correlation app above it.
        app.signature(CORRELATE_TASK, args=[batch_id], queue="correlation").apply_async()
    except Exception:  # the broker is down: the events are safe, the sweeper will retry
        logger.warning("could not enqueue correlation of batch %s", batch_id, exc_info=True)


# ---- the quarantine -------------------------------------------------------------------


@dataclass
class ReprocessReport:
    attempted: int = 0
    stored: int = 0
    still_failing: int = 0


def quarantine_reprocess(*, records: Any, actor: Any, now: datetime) -> ReprocessReport:
    """Run quarantined records through their source's parser again: after a parser fix,
    or after correcting the source (a wrong format, a wrong time zone).

    The source's *current* format is used. Each source's records go in as one new batch;
    what parses is stored, what still fails is quarantined anew with today's reason, and
    the old rows are marked reprocessed either way, so the quarantine shows only what is
    still a problem.
    """
    from socapp.audit import audit_record

    from .readers import read_lines

    report = ReprocessReport()
    by_source: dict[Any, list[QuarantinedRecord]] = {}
    for record in records.select_related("source").order_by("id"):
        by_source.setdefault(record.source_id, []).append(record)
    for rows in by_source.values():
        source = rows[0].source
        decoded = read_lines([bytes(r.raw) for r in rows], source.format)
        result = events_ingest(
            source=source,
            records=decoded.records,
            rejected=decoded.rejected,
            transport="reprocess",
            log_format=source.format,
        )
        QuarantinedRecord.objects.filter(pk__in=[r.pk for r in rows]).update(reprocessed_at=now)
        report.attempted += len(rows)
        report.stored += result.accepted + result.duplicates
        report.still_failing += result.quarantined
        audit_record(
            actor=actor,
            action="quarantine.reprocess",
            target=source,
            changes={
                "records": len(rows),
                "stored": result.accepted,
                "still_failing": result.quarantined,
            },
        )
    return report
