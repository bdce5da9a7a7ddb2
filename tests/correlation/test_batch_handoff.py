"""After commit, a batch is handed to correlation; a lost hand-off is picked up again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from correlation.services import batch_correlate
from events.ingest import events_ingest
from events.models import IngestBatch
from events.parsers import RawRecord
from events.tasks import sweep_uncorrelated_batches
from tests.factories import SourceFactory

LINE = "<38>Nov 28 04:03:59 fw sshd[1]: Failed password for root from 198.51.100.9 port 22 ssh2"


def ingest(source, lines=(LINE,)):
    return events_ingest(
        source=source,
        records=[RawRecord(n, line) for n, line in enumerate(lines, 1)],
        transport="api",
    )


@pytest.mark.django_db(transaction=True)
def test_a_committed_batch_is_correlated_through_the_task():
    result = ingest(SourceFactory())  # eager Celery: the task runs right after commit
    assert IngestBatch.objects.get(pk=result.batch_id).correlated_at is not None


@pytest.mark.django_db
def test_a_batch_is_not_marked_before_its_transaction_commits():
    # Inside one transaction (a TestCase), on_commit never fires: nothing is sent.
    result = ingest(SourceFactory())
    assert IngestBatch.objects.get(pk=result.batch_id).correlated_at is None


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_resends_batches_whose_message_was_lost():
    result = ingest(SourceFactory())
    batch = IngestBatch.objects.get(pk=result.batch_id)
    # What a broker restart looks like from PostgreSQL: committed, never correlated.
    IngestBatch.objects.filter(pk=batch.pk).update(
        correlated_at=None, committed_at=timezone.now() - timedelta(minutes=5)
    )
    fresh = ingest(SourceFactory())
    IngestBatch.objects.filter(pk=fresh.batch_id).update(correlated_at=None)
    assert sweep_uncorrelated_batches() == 1  # the fresh one may still be on its way
    assert IngestBatch.objects.get(pk=batch.pk).correlated_at is not None
    assert IngestBatch.objects.get(pk=fresh.batch_id).correlated_at is None


@pytest.mark.django_db
def test_correlating_twice_does_the_work_once():
    result = ingest(SourceFactory(), [LINE, LINE])
    assert batch_correlate(batch_id=result.batch_id) == 2
    assert batch_correlate(batch_id=result.batch_id) == 0


@pytest.mark.django_db
def test_a_batch_with_nothing_stored_needs_no_correlation():
    result = ingest(SourceFactory(), ["not syslog at all"])
    batch = IngestBatch.objects.get(pk=result.batch_id)
    assert (batch.accepted, batch.quarantined) == (0, 1)
    assert batch.correlated_at is not None


def lag_metric() -> float:
    from django.test import Client

    text = Client().get("/metrics").content.decode()
    (line,) = [x for x in text.splitlines() if x.startswith("socapp_correlation_lag_seconds ")]
    return float(line.split()[1])


@pytest.mark.django_db(transaction=True)
def test_correlation_lag_is_the_age_of_the_oldest_unevaluated_batch(reference_data):
    result = ingest(SourceFactory())
    assert lag_metric() == 0.0  # evaluated right after commit
    IngestBatch.objects.filter(pk=result.batch_id).update(
        correlated_at=None, committed_at=timezone.now() - timedelta(minutes=5)
    )
    assert 299 <= lag_metric() <= 330
    batch_correlate(batch_id=result.batch_id)
    assert lag_metric() == 0.0


@pytest.mark.django_db(transaction=True)
def test_a_sources_batches_are_correlated_in_commit_order_whoever_takes_them():
    """Two workers may take a source's batches out of order; the later one waits and is
    handed on when the earlier one is done, so windows see the source's events in order."""
    source, other = SourceFactory(), SourceFactory()
    first, second = ingest(source), ingest(source, [LINE, LINE])
    elsewhere = ingest(other)
    IngestBatch.objects.update(correlated_at=None)  # as if no worker had got to them yet

    assert batch_correlate(batch_id=second.batch_id) == 0  # not its turn: waits
    assert IngestBatch.objects.get(pk=second.batch_id).correlated_at is None
    assert batch_correlate(batch_id=elsewhere.batch_id) == 1  # another source: no wait

    assert batch_correlate(batch_id=first.batch_id) == 1
    # its commit handed the waiting batch on (eager Celery: evaluated right there)
    assert IngestBatch.objects.get(pk=second.batch_id).correlated_at is not None
    assert batch_correlate(batch_id=second.batch_id) == 0  # and only once
