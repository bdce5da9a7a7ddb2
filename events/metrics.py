"""Scrape-time metrics of the events tables."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from prometheus_client.core import GaugeMetricFamily, Metric

from .partitions import PARTITIONED_TABLES, list_partitions
from .tasks import SUMMARY_REFRESHED_KEY


def collect() -> Iterable[Metric]:
    count = GaugeMetricFamily("socapp_event_partitions", "Attached partitions.", labels=["table"])
    newest = GaugeMetricFamily(
        "socapp_event_partition_end_timestamp_seconds",
        "End of the newest partition: events after it cannot be stored until one is made.",
        labels=["table"],
    )
    for table in PARTITIONED_TABLES:
        parts = list_partitions(table)
        count.add_metric([table.name], len(parts))
        if parts:
            newest.add_metric([table.name], parts[-1].end.timestamp())
    yield count
    yield newest
    refreshed = cache.get(SUMMARY_REFRESHED_KEY)
    if refreshed is not None:
        yield GaugeMetricFamily(
            "socapp_hourly_summary_refreshed_timestamp_seconds",
            "When hourly_event_summary was last refreshed.",
            value=refreshed,
        )
