"""Scrape-time metrics of the events tables."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from socapp.kv import cache_client, text

from .models import HourlyEventSummary
from .partitions import PARTITIONED_TABLES, list_partitions


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
    refreshed = cache.get(HourlyEventSummary.REFRESHED_CACHE_KEY)
    if refreshed is not None:
        yield GaugeMetricFamily(
            "socapp_hourly_summary_refreshed_timestamp_seconds",
            "When hourly_event_summary was last refreshed.",
            value=refreshed,
        )


def collect_ingestion() -> Iterable[Metric]:
    from .models import IngestBatch, Source
    from .syslogd.server import STATS_KEY

    events = CounterMetricFamily(
        "socapp_source_records",
        "Records received per source, by what became of them.",
        labels=["source", "outcome"],
    )
    received = CounterMetricFamily(
        "socapp_source_bytes", "Bytes received per source.", labels=["source"]
    )
    seen = GaugeMetricFamily(
        "socapp_source_last_seen_timestamp_seconds",
        "When each source last sent anything.",
        labels=["source"],
    )
    for name, accepted, duplicates, quarantined, size, last_seen in Source.objects.values_list(
        "name",
        "accepted_count",
        "duplicate_count",
        "quarantined_count",
        "bytes_received",
        "last_seen",
    ):
        events.add_metric([name, "accepted"], accepted)
        events.add_metric([name, "duplicate"], duplicates)
        events.add_metric([name, "quarantined"], quarantined)
        received.add_metric([name], size)
        if last_seen is not None:
            seen.add_metric([name], last_seen.timestamp())
    yield events
    yield received
    yield seen
    yield GaugeMetricFamily(
        "socapp_uncorrelated_batches",
        "Committed ingest batches the correlation worker has not confirmed yet.",
        value=IngestBatch.objects.filter(correlated_at__isnull=True).count(),
    )
    syslog = CounterMetricFamily(
        "socapp_syslog_messages",
        "Syslog listener counts (all listener processes), by what happened.",
        labels=["outcome"],
    )
    client = cache_client(write=False)
    for outcome, value in (client.hgetall(cache.make_key(STATS_KEY)) or {}).items():
        syslog.add_metric([text(outcome)], float(value))
    yield syslog
