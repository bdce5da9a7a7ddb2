"""Periodic maintenance of the events tables (scheduled by ``manage.py bootstrap``)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task

from .partitions import create_partitions_ahead, drop_expired_partitions
from .selectors import batches_awaiting_correlation
from .services import hourly_summary_refresh

logger = logging.getLogger(__name__)


@shared_task(name="events.tasks.maintain_event_partitions")
def maintain_event_partitions() -> list[str]:
    return create_partitions_ahead()


@shared_task(name="events.tasks.drop_expired_event_partitions")
def drop_expired_event_partitions() -> list[str]:
    return drop_expired_partitions()


@shared_task(name="events.tasks.refresh_hourly_event_summary")
def refresh_hourly_event_summary() -> None:
    hourly_summary_refresh()


# Batches older than this without ``correlated_at`` lost their correlation message.
SWEEP_AFTER = timedelta(seconds=60)
SWEEP_LIMIT = 500


@shared_task(name="events.tasks.sweep_uncorrelated_batches")
def sweep_uncorrelated_batches() -> int:
    """Re-send committed batches the correlation worker never confirmed (a broker or
    Redis restart lost the message): at-least-once, and correlation is idempotent."""
    from .ingest import request_correlation

    stale = batches_awaiting_correlation(older_than=SWEEP_AFTER, limit=SWEEP_LIMIT)
    for batch_id in stale:
        request_correlation(str(batch_id))
    count = len(stale)
    if count:
        logger.info("re-sent %d uncorrelated batch(es) to correlation", count)
    return count


@shared_task(name="events.tasks.check_source_health")
def check_source_health() -> int:
    """Record a health event for each source quiet for longer than its setting."""
    from .health import report_silent_sources

    return report_silent_sources()


@shared_task(name="events.tasks.discover_unknown_hosts")
def discover_unknown_hosts() -> int:
    """Note the addresses and host names events mention that no asset claims."""
    from .discovery import discover_unknown_hosts as scan

    return scan()
