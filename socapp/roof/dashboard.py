"""The SOC dashboard's figures (a roof module: it reads from several apps).

Everything here is one read of already-small data, so the page and its 30-second
refresh stay as cheap as the alert queue at a million events:

- event volumes come from the ``hourly_event_summary`` materialized view (refreshed by
  Celery beat), never from the events table;
- the top source/destination IPs, users and rules are counted over the *alerts* raised
  in the range (thousands of rows, not millions): an IP that raised nothing is not what
  an analyst needs at a glance, and grouping raw events by IP would scan the whole range
  of the partitioned events table on every refresh;
- every alert and incident figure starts from the permission-filtering selectors, so an
  analyst of team A never counts team B's work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, DateTimeField, F, Func, QuerySet, Sum, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf

from events.selectors import hourly_summary, hourly_summary_refreshed_at, sources_visible_to
from incidents.choices import IncidentPriority, IncidentStatus
from incidents.kpis import mtta, mttr
from incidents.models import Alert
from incidents.selectors import alerts_visible_to, incidents_visible_to, severities_all
from socapp.timerange import TimeRange
from socapp.users import User

# The width of a bar for ranges up to each length: hourly bars for two days, six-hour bars
# for eight (28 for a week: 168 hourly bars would be a barcode), daily up to two months,
# weekly beyond (a year is 53 bars). The range itself is bounded by TIME_RANGE_MAX_DAYS.
BUCKET_STEPS = ((48, 1), (192, 6), (62 * 24, 24))
WEEKLY = 168
# The old ``hours`` parameter (API and page): its two values, as ranges.
LEGACY_HOURS = {24: "24h", 168: "7d"}
ALLOWED_HOURS = tuple(LEGACY_HOURS)
TOP_N = 10
# A stacked chart with more colours than this is unreadable; the rest become "other".
MAX_SERIES = 8
OTHER = "other"
PRIORITY_ORDER = ["critical", "high", "medium", "low"]

# Where an alert's details name the sending and the receiving address: a detection's
# ``entities`` (the engine's ECS names) or a correlation's ``group_by`` (the rule's own
# field names; the common ones of incidents/entities.py FIELD_KINDS, by direction).
SOURCE_IP_FIELDS = ("source.ip", "client.ip", "SourceIp", "SourceAddress", "IpAddress", "src_ip")
DEST_IP_FIELDS = ("destination.ip", "server.ip", "DestinationIp", "DestAddress", "dest_ip")
DETAIL_PARTS = ("entities", "group_by")


class DateBin(Func):
    """PostgreSQL's ``date_bin(stride, value, origin)``: buckets aligned to UTC midnight."""

    output_field = DateTimeField()

    def __init__(self, hours: int, expression: Any) -> None:
        super().__init__(
            Value(timedelta(hours=hours)),
            expression,
            Value(datetime(2000, 1, 1, tzinfo=UTC)),
        )

    function = "date_bin"


@dataclass(frozen=True)
class Window:
    since: datetime  # where alerts and incidents are counted from (the first bar may start earlier)
    until: datetime
    bucket_hours: int
    buckets: list[datetime]

    def index(self, moment: datetime) -> int | None:
        position = int((moment - self.buckets[0]) // timedelta(hours=self.bucket_hours))
        return position if 0 <= position < len(self.buckets) else None


def bucket_hours_for(span: timedelta) -> int:
    hours = span / timedelta(hours=1)
    return next((step for longest, step in BUCKET_STEPS if hours <= longest), WEEKLY)


def _floor(moment: datetime, step: int) -> datetime:
    """The start of the bar holding ``moment``: bars are aligned to UTC midnight."""
    midnight = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if step == WEEKLY:  # weeks from the same origin as date_bin's (a Saturday, 2000-01-01)
        origin = datetime(2000, 1, 1, tzinfo=UTC)
        return origin + (moment - origin) // timedelta(hours=step) * timedelta(hours=step)
    return midnight + (moment - midnight) // timedelta(hours=step) * timedelta(hours=step)


def window_for(chosen: TimeRange) -> Window:
    """The bars covering ``chosen``. A relative range's last bar is the current (partly
    filled) one and it has as many bars as fit its length, so a bar never claims a future
    the data has not reached; an absolute range's bars run from the one holding its start
    to the one holding its end."""
    step = bucket_hours_for(chosen.span)
    width = timedelta(hours=step)
    last = _floor(chosen.until - timedelta(microseconds=1), step)
    if chosen.relative:
        count = max(1, math.ceil(chosen.span / width))
    else:
        count = (last - _floor(chosen.since, step)) // width + 1
    buckets = [last - width * n for n in range(count - 1, -1, -1)]
    return Window(
        since=max(chosen.since, buckets[0]), until=chosen.until, bucket_hours=step, buckets=buckets
    )


def dashboard_data(user: User, chosen: TimeRange) -> dict[str, Any]:
    """Every figure of the dashboard for ``user`` over ``chosen``, as plain JSON-able data."""
    window = window_for(chosen)
    data: dict[str, Any] = {
        "hours": math.ceil(chosen.span / timedelta(hours=1)),
        "bucket_seconds": window.bucket_hours * 3600,
        "since": window.buckets[0].isoformat(),
        "until": window.until.isoformat(),
        "buckets": [b.isoformat() for b in window.buckets],
        "summary_refreshed_at": _summary_refreshed_at(),
        "events_by_type": [],
        "events_by_source": [],
        "alerts_by_severity": [],
        "top": {"source_ips": [], "destination_ips": [], "users": [], "rules": []},
        "open_incidents_by_priority": [],
        "mtta": None,
        "mttr": None,
    }
    # A custom role may lack one of the reads; its charts stay empty rather than leak.
    if user.has_perm("events.view_event"):
        data.update(_event_volumes(user, window))
    if user.has_perm("incidents.view_alert"):
        data.update(_alert_figures(user, window))
    if user.has_perm("incidents.view_incident"):
        data.update(_incident_figures(user, window))
    return data


def _summary_refreshed_at() -> str | None:
    refreshed = hourly_summary_refreshed_at()
    return None if refreshed is None else refreshed.isoformat()


# ---- events (the hourly summary view) ---------------------------------------------------


def _event_volumes(user: User, window: Window) -> dict[str, Any]:
    # The summary counts whole hours: the hour holding the range's start counts whole.
    rows = hourly_summary().filter(
        hour__gte=_floor(window.since, 1),
        hour__lt=window.until,
        source__in=sources_visible_to(user).values("pk"),
    )
    binned = rows.order_by().annotate(bucket=DateBin(window.bucket_hours, F("hour")))
    by_type = binned.values_list("bucket", "event_type").annotate(n=Sum("event_count"))
    by_source = binned.values_list("bucket", "source__name").annotate(n=Sum("event_count"))
    return {
        "events_by_type": _stacked(window, by_type),
        "events_by_source": _stacked(window, by_source),
    }


def _stacked(window: Window, rows: Any) -> list[dict[str, Any]]:
    """Series per name, biggest first; beyond MAX_SERIES names the rest sum as "other"."""
    counts: dict[str, list[int]] = {}
    for bucket, name, n in rows:
        at = window.index(bucket)
        if at is not None:
            counts.setdefault(str(name), [0] * len(window.buckets))[at] += int(n)
    ranked = sorted(counts.items(), key=lambda item: (-sum(item[1]), item[0]))
    series = [{"name": name, "counts": values} for name, values in ranked[:MAX_SERIES]]
    if len(ranked) > MAX_SERIES:
        rest = [sum(column) for column in zip(*(v for _, v in ranked[MAX_SERIES:]), strict=True)]
        series.append({"name": OTHER, "counts": rest})
    return series


# ---- alerts -----------------------------------------------------------------------------


def _alerts_in(user: User, window: Window) -> QuerySet[Alert]:
    return alerts_visible_to(user).filter(
        triggered_at__gte=window.since, triggered_at__lt=window.until
    )


def _alert_figures(user: User, window: Window) -> dict[str, Any]:
    alerts = _alerts_in(user, window)
    return {
        "alerts_by_severity": _alerts_by_severity(alerts, window),
        "top": {
            "source_ips": _top(alerts, _detail_field(SOURCE_IP_FIELDS)),
            "destination_ips": _top(alerts, _detail_field(DEST_IP_FIELDS)),
            "users": _top_users(alerts),
            "rules": _top_rules(alerts),
        },
        "mtta": mtta(alerts_visible_to(user), window.since, window.until).as_dict(),
    }


def _alerts_by_severity(alerts: QuerySet[Alert], window: Window) -> list[dict[str, Any]]:
    rows = (
        alerts.order_by()
        .annotate(bucket=DateBin(window.bucket_hours, F("triggered_at")))
        .values_list("bucket", "severity__name")
        .annotate(n=Count("id"))
    )
    counts: dict[str, list[int]] = {}
    for bucket, name, n in rows:
        at = window.index(bucket)
        if at is not None:
            counts.setdefault(name, [0] * len(window.buckets))[at] += n
    # Every severity, most severe first, so colours and order never shift between refreshes.
    return [
        {
            "name": severity.name,
            "label": severity.get_name_display(),
            "color": severity.color_code,
            "counts": counts.get(severity.name, [0] * len(window.buckets)),
        }
        for severity in severities_all().order_by("-level")
    ]


def _detail_field(names: tuple[str, ...]) -> Any:
    """The first of ``names`` an alert's details carry, under entities or group_by (the
    ECS name under either part wins over an alias)."""
    return Coalesce(
        *(
            NullIf(KT(f"details__{part}__{name}"), Value("", output_field=TextField()))
            for name in names
            for part in DETAIL_PARTS
        )
    )


def _top(alerts: QuerySet[Alert], value: Any) -> list[dict[str, Any]]:
    rows = (
        alerts.order_by()
        .annotate(value=value)
        .filter(value__isnull=False)
        .values("value")
        .annotate(count=Count("id"))
        .order_by("-count", "value")[:TOP_N]
    )
    return [{"value": row["value"], "count": row["count"]} for row in rows]


def _top_users(alerts: QuerySet[Alert]) -> list[dict[str, Any]]:
    """Users from the alerts' ``entities`` array ("user:alice"): already normalised
    (lower case, placeholders such as "-" dropped) whatever field the rule named."""
    inner, params = alerts.order_by().values("entities").query.sql_with_params()
    sql = f"""
        SELECT substr(entity, 6) AS value, count(*) AS n
          FROM (SELECT unnest(visible.entities) AS entity FROM ({inner}) AS visible) AS e
         WHERE entity LIKE 'user:%%'
         GROUP BY entity
         ORDER BY n DESC, value
         LIMIT {TOP_N:d}
    """  # noqa: S608 - the inner query is Django's, every value a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [{"value": value, "count": n} for value, n in cursor.fetchall()]


def _top_rules(alerts: QuerySet[Alert]) -> list[dict[str, Any]]:
    rows = (
        alerts.order_by()
        .filter(rule__isnull=False)
        .values("rule_id", "rule__name")
        .annotate(count=Count("id"))
        .order_by("-count", "rule__name")[:TOP_N]
    )
    return [
        {"value": row["rule__name"], "id": str(row["rule_id"]), "count": row["count"]}
        for row in rows
    ]


# ---- incidents --------------------------------------------------------------------------


def _incident_figures(user: User, window: Window) -> dict[str, Any]:
    incidents = incidents_visible_to(user)
    counts = dict(
        incidents.order_by()
        .exclude(status=IncidentStatus.CLOSED)
        .values_list("priority")
        .annotate(n=Count("id"))
    )
    # Most urgent first, every priority present (a zero is information too).
    priorities = [IncidentPriority(value) for value in PRIORITY_ORDER]
    return {
        "open_incidents_by_priority": [
            {"priority": p.value, "label": p.label, "count": counts.get(p.value, 0)}
            for p in priorities
        ],
        "mttr": mttr(incidents, window.since, window.until).as_dict(),
    }
