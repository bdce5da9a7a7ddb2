"""Prometheus metrics.

Work happens in many processes (web, Celery workers, the syslog listener), so the
figures that matter are read at scrape time from where they are kept for real
(PostgreSQL, Redis) by collectors that apps register here. Per-process counters
(HTTP requests of this web process) sit beside them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

MetricSource = Callable[[], Iterable[Metric]]
_sources: dict[str, MetricSource] = {}

disable_created_metrics()  # *_created series only double the scrape size here
registry = CollectorRegistry(auto_describe=False)

http_requests = Counter(
    "socapp_http_requests",
    "HTTP requests answered by this web process, by method and status class.",
    ["method", "status"],
    registry=registry,
)


def register_metric_source(name: str, source: MetricSource) -> None:
    """Apps call this from ``AppConfig.ready``; ``source`` runs on every scrape."""
    _sources[name] = source


class _ScrapeTimeCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        failed = GaugeMetricFamily(
            "socapp_metric_source_up",
            "1 if the metric source could be read at this scrape, else 0.",
            labels=["source"],
        )
        for name, source in sorted(_sources.items()):
            try:
                yield from list(source())
                failed.add_metric([name], 1)
            except Exception:  # one broken source must not hide the others
                logger.exception("metric source %s failed", name)
                failed.add_metric([name], 0)
        yield failed


registry.register(_ScrapeTimeCollector())


def render_metrics() -> bytes:
    return generate_latest(registry)
