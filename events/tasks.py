"""Periodic maintenance of the events tables (scheduled by ``manage.py bootstrap``)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from .partitions import create_partitions_ahead, drop_expired_partitions

logger = logging.getLogger(__name__)

SUMMARY_REFRESHED_KEY = "events:hourly_summary:refreshed_at"


@shared_task(name="events.tasks.maintain_event_partitions")
def maintain_event_partitions() -> list[str]:
    return create_partitions_ahead()


@shared_task(name="events.tasks.drop_expired_event_partitions")
def drop_expired_event_partitions() -> list[str]:
    return drop_expired_partitions()


@shared_task(name="events.tasks.refresh_hourly_event_summary")
def refresh_hourly_event_summary() -> None:
    # CONCURRENTLY keeps the view readable during the refresh (it needs the unique index
    # created with the view in migration 0001).
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY hourly_event_summary")
    cache.set(SUMMARY_REFRESHED_KEY, timezone.now().timestamp(), timeout=None)


# Batches older than this without ``correlated_at`` lost their correlation message.
SWEEP_AFTER = timedelta(seconds=60)
SWEEP_LIMIT = 500


@shared_task(name="events.tasks.sweep_uncorrelated_batches")
def sweep_uncorrelated_batches() -> int:
    """Re-send committed batches the correlation worker never confirmed (a broker or
    Redis restart lost the message): at-least-once, and correlation is idempotent."""
    from .ingest import request_correlation
    from .models import IngestBatch

    stale = (
        IngestBatch.objects.filter(
            correlated_at__isnull=True, committed_at__lt=timezone.now() - SWEEP_AFTER
        )
        .order_by("committed_at")
        .values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    count = 0
    for batch_id in stale:
        request_correlation(str(batch_id))
        count += 1
    if count:
        logger.info("re-sent %d uncorrelated batch(es) to correlation", count)
    return count


@shared_task(name="events.tasks.check_source_health")
def check_source_health() -> int:
    """Record a health event for each source quiet for longer than its setting."""
    from .health import report_silent_sources

    return report_silent_sources()
