"""Scrape-time metrics of alerts and incidents."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from .choices import AlertStatus, IncidentStatus
from .models import Alert, Incident


def collect() -> Iterable[Metric]:
    alerts = GaugeMetricFamily(
        "socapp_alerts", "Alerts that are not closed.", labels=["status", "severity"]
    )
    rows = (
        Alert.objects.exclude(status=AlertStatus.CLOSED)
        .values_list("status", "severity__name")
        .annotate(n=Count("id"))
    )
    for status, severity, n in rows:
        alerts.add_metric([status, severity], n)
    yield alerts
    incidents = GaugeMetricFamily(
        "socapp_incidents_open", "Incidents that are not closed.", labels=["priority"]
    )
    by_priority = (
        Incident.objects.exclude(status=IncidentStatus.CLOSED)
        .values_list("priority")
        .annotate(n=Count("id"))
    )
    for priority, n in by_priority:
        incidents.add_metric([priority], n)
    yield incidents
