"""The streaming writer: natural-key conflicts fall back to de-duplication, new partitions
appear mid-batch, and a batch that fails leaves nothing behind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from events.ingest import events_ingest
from events.models import Event, IngestBatch
from events.normalize import json_for_postgres
from events.parsers import RawRecord
from events.partitions import EVENTS, ensure_partitions
from events.records import EventRecord
from events.services import StreamingWriter, events_write
from tests.factories import SourceFactory


def eve(n: int, at: datetime) -> dict:
    return {
        "timestamp": at.isoformat(),
        "event_type": "flow",
        "flow_id": 1000 + n,
        "src_ip": "10.0.0.1",
        "dest_ip": "10.0.0.2",
        "proto": "TCP",
    }


def send(source, records):
    return events_ingest(
        source=source, transport="api", records=[RawRecord(n, r) for n, r in enumerate(records, 1)]
    )


@pytest.mark.django_db
def test_an_overlapping_resend_is_counted_as_duplicates():
    source = SourceFactory(format="suricata")
    start = datetime(2016, 1, 5, tzinfo=UTC)
    first = send(source, [eve(n, start + timedelta(seconds=n)) for n in range(50)])
    assert (first.accepted, first.duplicates) == (50, 0)
    # 20 already stored, 30 new, and one record twice within the batch
    batch = [eve(n, start + timedelta(seconds=n)) for n in range(30, 80)]
    batch.append(eve(79, start + timedelta(seconds=79)))
    second = send(source, batch)
    assert (second.accepted, second.duplicates) == (30, 21)
    assert Event.objects.filter(source=source).count() == 80
    assert Event.objects.filter(batch_id=second.batch_id).count() == 30


@pytest.mark.django_db
def test_a_batch_crossing_into_a_new_partition_mid_stream():
    source = SourceFactory(format="suricata")
    times = [datetime(2017, 3, 31, 23, 59, 58, tzinfo=UTC) + timedelta(seconds=n) for n in range(5)]
    result = send(source, [eve(n, t) for n, t in enumerate(times)])
    assert result.accepted == 5
    months = {e.event_time.month for e in Event.objects.filter(batch_id=result.batch_id)}
    assert months == {3, 4}


@pytest.mark.django_db
def test_a_batch_that_cannot_be_stored_leaves_nothing(monkeypatch):
    import events.ingest

    source = SourceFactory(format="suricata")

    def broken(*args, **kwargs):  # the database refusing a batch half-way
        raise RuntimeError("simulated failure after streaming started")

    monkeypatch.setattr(events.ingest.QuarantinedRecord.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        send(source, [eve(n, datetime(2016, 2, 1, tzinfo=UTC)) for n in range(10)])
    assert not Event.objects.filter(source=source).exists()
    assert not IngestBatch.objects.filter(source=source).exists()


def tricky_records(batch_id: uuid.UUID) -> list[EventRecord]:
    """Every column's awkward values: COPY's special characters, non-ASCII, NULLs, an
    offset that is not UTC, a JSON document full of escapes."""
    at = datetime(2016, 3, 1, 12, 0, 0, 123456, tzinfo=ZoneInfo("Asia/Kolkata"))
    texts = ["plain", "tab\there", "new\nline", "cr\rlf\r\n", "back\\slash \\N", "é ü 中 🦀", ""]
    records = []
    for n, text in enumerate(texts):
        document = {"message": text, "path": "C:\\Windows\\x", "n": n, "nested": {"t": text}}
        record = EventRecord(
            event_time=at + timedelta(seconds=n),
            event_type=f"type {text}"[:100],
            normalized_data=document,
            raw_data=text,
            source_ip="10.0.0.1" if n % 2 else None,
            dest_ip="2001:db8::1" if n % 3 else None,
            source_port=n or None,
            dest_port=65535 if n % 2 else None,
            protocol=text[:20],
            batch_id=batch_id,
            dedupe_key=f"key {text} {n}" if n % 2 else None,
        )
        record.normalized_json = json_for_postgres(document)
        records.append(record)
    return records


COMPARED = ("event_time", "source_ip", "dest_ip", "source_port", "dest_port", "protocol",
            "event_type", "raw_data", "normalized_data", "dedupe_key")  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_streamed_rows_read_back_as_psycopg_writes_them():
    """The writer formats COPY text itself: every value must come back exactly as the
    same record written through psycopg's own row formatting (events_write)."""
    streamed, reference = SourceFactory(), SourceFactory()
    ensure_partitions(EVENTS, [datetime(2016, 3, 1, tzinfo=UTC)])
    with transaction.atomic():
        writer = StreamingWriter(streamed.pk).__enter__()
        for record in tricky_records(uuid.uuid4()):
            writer.add(record)
        assert len(writer.finish().stored_ids) == 7
    with transaction.atomic():
        events_write(source_id=reference.pk, records=tricky_records(uuid.uuid4()))

    def stored(source) -> list[tuple]:
        rows = Event.objects.filter(source=source).order_by("event_time")
        return list(rows.values_list(*COMPARED))

    assert stored(streamed) == stored(reference)
    assert len(stored(streamed)) == 7
    assert stored(streamed)[4][7] == "back\\slash \\N"
