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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone

from intel.lifecycle import record_matches
from socapp.collector import without_cyclic_gc
from socapp.ids import uuid7
from socapp.users import User

from .choices import EventCategory
from .enrichment import batch_stored, enrich
from .enrichment import prepare as prepare_enrichment
from .models import IngestBatch, QuarantinedRecord, Source
from .normalize import json_for_postgres, to_record
from .parsers import ParseContext, ParsedEvent, RawRecord, Rejected, parser_for
from .parsers.base import failure_reason
from .quarantine import BatchQuarantine
from .records import EventRecord
from .services import NoPartitionRoom, StreamingWriter

logger = logging.getLogger(__name__)

CORRELATE_TASK = "correlation.tasks.correlate_batch"


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
_MISSING = object()


def event_type_id(name: str, event: ParsedEvent | None = None) -> Any:
    """The EventType row for ``name``, made on first sight (in the category ``event``
    names, when it names one).

    A new type is written on a connection of its own and committed at once: the caller is
    usually in the middle of a COPY (its connection cannot run another statement), and a
    type must not vanish with a batch that rolls back while this process remembers it.
    """
    global _types_loaded
    known = _type_ids.get(name, _MISSING)  # the hot path: no lock, one lookup
    if known is not _MISSING and time.monotonic() - _types_loaded < TYPE_CACHE_SECONDS:
        return known
    with _type_lock:
        if time.monotonic() - _types_loaded > TYPE_CACHE_SECONDS:
            _type_ids.clear()
            _types_loaded = time.monotonic()
        if name in _type_ids:
            return _type_ids[name]
    category = _category_of(event) if event is not None else None
    chosen = category if category in _CATEGORIES else EventCategory.OTHER
    own = connections.create_connection("default")
    try:
        with own.cursor() as cursor:
            cursor.execute(
                "INSERT INTO event_types (id, name, category, description, schema, "
                "severity_default, created_at) VALUES (%s, %s, %s, '', '{}', 1, now()) "
                "ON CONFLICT (name) DO NOTHING",
                [uuid7(), name, chosen],
            )
            cursor.execute("SELECT id FROM event_types WHERE name = %s", [name])
            row = cursor.fetchone()
    finally:
        own.close()
    type_id = row[0] if row else None
    with _type_lock:
        _type_ids[name] = type_id
    return type_id


def forget_event_types() -> None:
    with _type_lock:
        _type_ids.clear()


def _category_of(event: ParsedEvent) -> str | None:
    event_object = event.fields.get("event")
    categories = event_object.get("category") if isinstance(event_object, dict) else None
    if isinstance(categories, list) and categories:
        categories = categories[0]
    return categories if isinstance(categories, str) else None


# ---- the service -----------------------------------------------------------------------


def _zone(name: str) -> Any:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def prepared(
    result: ParsedEvent,
    received_at: datetime,
    received_iso: str,
    batch_id: Any,
) -> EventRecord:
    """A parsed event as the row to store: normalized, typed, enriched, its document
    encoded for jsonb. Everything that could refuse this one record happens here, before
    the row joins the batch's COPY."""
    record = to_record(
        result, received_at=received_at, batch_id=batch_id, received_iso=received_iso
    )
    record.event_type_id = event_type_id(record.event_type, result)
    enrich(record)
    record.normalized_json = json_for_postgres(record.normalized_data)
    return record


@without_cyclic_gc
def events_ingest(
    *,
    source: Source,
    records: Iterable[RawRecord | Rejected],
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

    ``records`` may be a stream (read once, as the batch is parsed and stored); input the
    transport itself could not read (a truncated syslog frame, a line of an NDJSON body
    that is not JSON) comes as ``Rejected`` items among them or in ``rejected``, and is
    quarantined with the rest (bounded: see ``events.quarantine``). An exception raised
    by the stream (a limit passed) rolls the whole batch back.
    Parsing and storing overlap (``StreamingWriter``); the cyclic garbage collector is
    paused meanwhile (see ``without_cyclic_gc``).
    """
    if idempotency_key:
        replay = _replay(source, idempotency_key, digest)
        if replay is not None:
            return replay
    received_at = received_at or timezone.now()
    log_format = log_format or source.format
    context = ParseContext(
        received_at=received_at,
        time_zone=_zone(source.time_zone),
        source_name=source.name,
        sender=sender,
    )
    quarantine = BatchQuarantine(settings.QUARANTINE_MAX_PER_BATCH)
    quarantine.extend(rejected)
    results = parser_for(log_format)(_parsable(records, quarantine), context)
    batch = IngestBatch(
        id=uuid7(),
        source=source,
        transport=transport,
        idempotency_key=idempotency_key,
        body_digest=digest,
        bytes=size,
        received_at=received_at,
    )
    try:
        _store(batch, results, quarantine, log_format)
    except IntegrityError:
        # Someone stored the same key a moment ago: theirs is the answer (or a conflict).
        if idempotency_key:
            replay = _replay(source, idempotency_key, digest)
            if replay is not None:
                return replay
        raise
    return _result_of(batch, replayed=False)


def _parsable(
    items: Iterable[RawRecord | Rejected], quarantine: BatchQuarantine
) -> Iterator[RawRecord]:
    """The records for the parser; what the transport could not read goes to the
    quarantine as it passes."""
    for item in items:
        if isinstance(item, RawRecord):
            if item.original is not None:
                quarantine.remember(item)
            yield item
        else:
            quarantine.append(item)


def _store(
    batch: IngestBatch,
    results: Any,
    rejected: BatchQuarantine,
    log_format: str,
) -> None:
    """One transaction: the batch row, the events (streamed as they are parsed), the
    quarantine, the counts; correlation is asked for after commit."""
    source = batch.source
    received_iso = batch.received_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    with transaction.atomic():
        batch.save(force_insert=True)  # the idempotency key is claimed first
        prepare_enrichment()  # lookups now: once the COPY runs, the connection is busy
        writer = StreamingWriter(source.pk).__enter__()
        try:
            for result in results:
                if isinstance(result, Rejected):
                    rejected.append(result)
                    continue
                try:
                    record = prepared(result, batch.received_at, received_iso, batch.pk)
                except DatabaseError:  # the database, not the record: the batch fails
                    raise
                except Exception as exc:  # this record cannot be stored; the others can
                    reason = failure_reason(exc, "normalize")
                    rejected.append(Rejected(result.number, result.raw, reason))
                    continue
                try:
                    writer.add(record)
                except NoPartitionRoom as exc:
                    rejected.append(Rejected(result.number, result.raw, str(exc)))
        except BaseException as exc:
            writer.abort(exc)
            raise
        written = writer.finish()
        _record_ioc_matches(writer.records, written.stored_ids)
        QuarantinedRecord.objects.bulk_create(rejected.rows(batch, log_format))
        times = [r.event_time for r in writer.records]
        batch.first_event_time = min(times) if times else None
        batch.last_event_time = max(times) if times else None
        batch_stored(batch.first_event_time, batch.last_event_time)
        batch.accepted = len(written.stored_ids)
        batch.duplicates = written.duplicates
        batch.quarantined = len(rejected)
        batch.errors = rejected.errors()
        batch.committed_at = timezone.now()
        if not written.stored_ids:
            batch.correlated_at = batch.committed_at  # nothing for correlation to do
        batch.save(
            update_fields=[
                "first_event_time",
                "last_event_time",
                "accepted",
                "duplicates",
                "quarantined",
                "errors",
                "committed_at",
                "correlated_at",
            ]
        )
        Source.objects.filter(pk=source.pk).update(
            last_seen=batch.committed_at,
            accepted_count=F("accepted_count") + batch.accepted,
            duplicate_count=F("duplicate_count") + batch.duplicates,
            quarantined_count=F("quarantined_count") + batch.quarantined,
            bytes_received=F("bytes_received") + batch.bytes,
        )
        if written.stored_ids:
            batch_id = str(batch.pk)
            transaction.on_commit(lambda: request_correlation(batch_id))


def _record_ioc_matches(records: Sequence[EventRecord], stored_ids: Sequence[Any]) -> None:
    """The batch's indicator matches, in its transaction: committed with their events or
    not at all (a duplicate dropped by its natural key has none)."""
    matched = [r for r in records if r.ioc_matches]
    if not matched:
        return
    if len(stored_ids) != len(records):
        kept = set(stored_ids)
        matched = [r for r in matched if r.event_id in kept]
    record_matches(
        [(ioc, r.event_id, r.event_time, name) for r in matched for ioc, name in r.ioc_matches]
    )


def request_correlation(batch_id: str) -> None:
    """Ask a correlation worker to evaluate a committed batch. A lost message costs only
    latency: the sweeper re-sends batches whose ``correlated_at`` stays empty."""
    from socapp.celery import app

    try:
        # By name: the events app does not import the correlation app above it.
        app.signature(CORRELATE_TASK, args=[batch_id]).apply_async()  # its queue: routes
    except Exception:  # the broker is down: the events are safe, the sweeper will retry
        logger.warning("could not enqueue correlation of batch %s", batch_id, exc_info=True)


# ---- the quarantine -------------------------------------------------------------------


REPROCESS_PAGE = 5000  # quarantined records per reprocessing batch


@dataclass
class ReprocessReport:
    attempted: int = 0
    stored: int = 0
    still_failing: int = 0
    summaries_skipped: int = 0  # summary rows: their records were counted, not kept


def quarantine_reprocess(*, records: Any, actor: User | None, now: datetime) -> ReprocessReport:
    """Run quarantined records through their source's parser again: after a parser fix,
    or after correcting the source (a wrong format, a wrong time zone).

    The source's *current* format is used. Each source's records go in as new batches of
    REPROCESS_PAGE; what parses is stored, what still fails is quarantined anew with
    today's reason, and the old rows are marked reprocessed either way, so the quarantine
    shows only what is still a problem. Summary rows (``omitted`` > 0) stand for records
    whose bytes were not kept: there is nothing to run again, they stay as they are.
    """
    from django.db.models import Max

    from socapp.audit import audit_record

    from .readers import read_lines

    report = ReprocessReport()
    report.summaries_skipped = records.filter(omitted__gt=0).count()
    records = records.filter(omitted=0)
    # Rows quarantined anew below must not be picked up again by this same run.
    ceiling = records.aggregate(top=Max("id"))["top"]
    source_ids = list(records.order_by().values_list("source_id", flat=True).distinct())
    for source in Source.objects.filter(pk__in=source_ids).order_by("name"):
        pending = records.filter(source=source, id__lte=ceiling).order_by("id")
        done = stored = failing = last = 0
        while rows := list(pending.filter(id__gt=last)[:REPROCESS_PAGE]):
            last = rows[-1].pk
            decoded = read_lines([bytes(r.raw) for r in rows], source.format)
            result = events_ingest(
                source=source,
                records=decoded.records,
                rejected=decoded.rejected,
                transport="reprocess",
                log_format=source.format,
            )
            QuarantinedRecord.objects.filter(pk__in=[r.pk for r in rows]).update(reprocessed_at=now)
            done += len(rows)
            stored += result.accepted
            report.stored += result.accepted + result.duplicates
            failing += result.quarantined
        report.attempted += done
        report.still_failing += failing
        audit_record(
            actor=actor,
            action="quarantine.reprocess",
            target=source,
            changes={"records": done, "stored": stored, "still_failing": failing},
        )
    return report
