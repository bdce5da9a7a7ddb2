"""The streaming writer: natural-key conflicts fall back to de-duplication, new partitions
appear mid-batch, and a batch that fails leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.ingest import events_ingest
from events.models import Event, IngestBatch
from events.parsers import RawRecord
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
