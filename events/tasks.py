"""Periodic maintenance of the events tables (scheduled by ``manage.py bootstrap``)."""

from __future__ import annotations

import logging

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
