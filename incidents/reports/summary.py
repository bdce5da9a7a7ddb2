"""The periodic SOC summary: event volumes, alerts, incidents, MTTA and MTTR.

Every figure is counted over what the reader may see (the selectors), so an analyst's
summary covers their teams and a manager's the whole SOC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from events.selectors import hourly_summary, hourly_summary_refreshed_at, sources_visible_to

from ..choices import AlertStatus, CloseReason, IncidentPriority
from ..kpis import ResponseTime, mtta, mttr
from ..selectors import alerts_visible_to, incidents_visible_to, severities_all
from .data import Cell, Duration, Report, Section
from .period import Period

TOP_RULES = 10
# hourly_event_summary keeps this much (see its CREATE in events/migrations/0001).
SUMMARY_KEEPS = timedelta(days=7)


def _counted(rows: QuerySet, key: str) -> dict[str, int]:
    counts = rows.order_by().values(key).annotate(n=Count("pk")).values_list(key, "n")
    return {k or "": n for k, n in counts}


def _table(key: str, title: str, columns: list[str], counts: dict[str, int]) -> Section:
    return Section(key, title, columns, [[name, n] for name, n in counts.items()])


def _with_zeros(choices: Any, counts: dict[str, int]) -> dict[str, int]:
    """Every choice in its own order, counted or not: a zero is a figure too."""
    return {label: counts.get(value, 0) for value, label in choices}


def _event_sections(reader: Any, period: Period) -> tuple[int | None, list[Section]]:
    by_type = Section("events_by_type", "Events by type", ["event_type", "events"])
    by_source = Section("events_by_source", "Events by source", ["source", "events"])
    if not reader.has_perm("events.view_event"):
        by_type.note = "You may not read events, so volumes are left out."
        return None, [by_type, by_source]
    rows = hourly_summary().filter(
        hour__gte=period.start,
        hour__lt=period.end,
        source_id__in=sources_visible_to(reader).values("pk"),
    )
    total = rows.aggregate(n=Sum("event_count"))["n"] or 0
    for kind, n in _sums(rows, "event_type"):
        by_type.rows.append([kind, n])
    for source, n in _sums(rows, "source__name"):
        by_source.rows.append([source, n])
    by_type.note = _coverage_note(period)
    return total, [by_type, by_source]


def _sums(rows: QuerySet, key: str) -> list[tuple[str, int]]:
    return list(
        rows.order_by()
        .values(key)
        .annotate(n=Sum("event_count"))
        .order_by("-n", key)
        .values_list(key, "n")
    )


def _coverage_note(period: Period) -> str:
    """Say what the volumes leave out. The view keeps 7 days; counting older events
    from the partitioned table could scan months of rows inside a web request."""
    notes = []
    kept_from = timezone.now() - SUMMARY_KEEPS
    if period.start < kept_from:
        notes.append(
            f"Volumes before {_stamp(kept_from)} are not counted: the hourly event "
            "summary keeps 7 days."
        )
    refreshed = hourly_summary_refreshed_at()
    if refreshed:
        notes.append(f"The summary was last refreshed at {_stamp(refreshed)}.")
    return " ".join(notes)


def _stamp(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M %Z")


def _alert_sections(alerts: QuerySet) -> list[Section]:
    severities = {s.name: str(s) for s in severities_all()}
    by_severity = _counted(alerts, "severity__name")
    rules = (
        alerts.order_by()
        .values("rule__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "rule__name")
        .values_list("rule__name", "n")[:TOP_RULES]
    )
    closed = alerts.filter(status=AlertStatus.CLOSED)
    return [
        _table(
            "alerts_by_severity",
            "Alerts by severity",
            ["severity", "alerts"],
            {label: by_severity.get(name, 0) for name, label in severities.items()},
        ),
        _table(
            "alerts_by_status",
            "Alerts by status (now)",
            ["status", "alerts"],
            _with_zeros(AlertStatus.choices, _counted(alerts, "status")),
        ),
        _table(
            "alerts_by_close_reason",
            "Closed alerts by reason",
            ["close_reason", "alerts"],
            _with_zeros(CloseReason.choices, _counted(closed, "close_reason")),
        ),
        _table(
            "top_rules",
            f"Top {TOP_RULES} rules",
            ["rule", "alerts"],
            {name or "(no rule)": n for name, n in rules},
        ),
    ]


def _response_times(alert_time: ResponseTime, incident_time: ResponseTime) -> Section:
    section = Section(
        "response_times",
        "Response times",
        ["measure", "count", "mean", "median"],
        note="MTTA: alerts raised in the period, trigger to first acknowledgement or "
        "closure (muted alerts left out). MTTR: incidents resolved in the period, opening "
        "to resolution.",
    )
    for name, time in (("MTTA", alert_time), ("MTTR", incident_time)):
        section.rows.append(
            [name, time.count, Duration(time.mean_seconds), Duration(time.median_seconds)]
        )
    return section


def soc_summary(*, reader: Any, period: Period) -> Report:
    alerts = alerts_visible_to(reader)
    incidents = incidents_visible_to(reader)
    raised = alerts.filter(triggered_at__gte=period.start, triggered_at__lt=period.end)
    opened = incidents.filter(created_at__gte=period.start, created_at__lt=period.end)
    closed = incidents.filter(resolved_at__gte=period.start, resolved_at__lt=period.end)
    events, event_sections = _event_sections(reader, period)
    facts: list[tuple[str, Cell]] = [
        ("From", period.since.isoformat()),
        ("Until (inclusive)", period.until.isoformat()),
        ("Days", period.days),
        ("Events", events),
        ("Alerts raised", raised.count()),
        ("Incidents opened", opened.count()),
        ("Incidents resolved", closed.count()),
        ("Generated", timezone.now()),
        ("Generated for", reader.get_username()),
    ]
    priorities = _with_zeros(IncidentPriority.choices, _counted(opened, "priority"))
    return Report(
        title=f"SOC summary {period.since.isoformat()} to {period.until.isoformat()}",
        filename_stem=f"soc-summary-{period}",
        marking="TLP:AMBER",
        facts=facts,
        sections=[
            *event_sections,
            *_alert_sections(raised),
            _table(
                "incidents_by_priority",
                "Incidents opened, by priority",
                ["priority", "incidents"],
                priorities,
            ),
            _response_times(
                mtta(alerts, period.start, period.end), mttr(incidents, period.start, period.end)
            ),
        ],
    )
