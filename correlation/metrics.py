"""Prometheus figures of the detection engine."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from events.selectors import oldest_uncorrelated_commit

from .models import CorrelationRule, RuleStats


def correlation_lag_seconds() -> float:
    """Age, by commit time, of the oldest committed event not yet evaluated (0: none)."""
    oldest = oldest_uncorrelated_commit()
    if oldest is None:
        return 0.0
    return max(0.0, (timezone.now() - oldest).total_seconds())


def collect() -> Iterable[Metric]:
    yield GaugeMetricFamily(
        "socapp_correlation_lag_seconds",
        "Age by commit time of the oldest committed event not yet evaluated (0 when none).",
        value=correlation_lag_seconds(),
    )
    yield GaugeMetricFamily(
        "socapp_active_rules",
        "Rules the engine runs.",
        value=CorrelationRule.objects.filter(is_active=True).count(),
    )
    totals = CounterMetricFamily(
        "socapp_rule_engine", "Engine totals over all rules, by kind.", labels=["kind"]
    )
    sums = RuleStats.objects.aggregate(
        evaluations=Sum("evaluations"),
        hits=Sum("hits"),
        alerts=Sum("alerts"),
        suppressed=Sum("suppressed"),
        errors=Sum("errors"),
    )
    for kind, value in sums.items():
        totals.add_metric([kind], float(value or 0))
    yield totals
