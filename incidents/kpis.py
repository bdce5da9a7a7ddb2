"""The SOC's response times, defined once for the dashboard, the reports and the API.

- **MTTA** (mean time to acknowledge): for alerts raised in a period, the time from
  ``triggered_at`` to the first human response — ``acknowledged_at``, or ``closed_at``
  when an analyst closed the alert without acknowledging it first. Alerts closed by a
  mute are left out (nobody looked at them), and so are alerts nobody has answered yet.
- **MTTR** (mean time to resolve): for incidents resolved in a period, the time from
  ``created_at`` to ``resolved_at``.

Both come as mean and median seconds with the number of items they are over, so a
figure over three alerts is not read like one over three thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    QuerySet,
)
from django.db.models.functions import Coalesce

from .choices import CloseReason


class _Median(Func):
    """percentile_cont(0.5) over a duration, in seconds."""

    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM %(expressions)s))"
    output_field = FloatField()
    contains_aggregate = True


@dataclass(frozen=True)
class ResponseTime:
    mean_seconds: float | None
    median_seconds: float | None
    count: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "mean_seconds": self.mean_seconds,
            "median_seconds": self.median_seconds,
            "count": self.count,
        }


def _measure(queryset: QuerySet, elapsed: Any) -> ResponseTime:
    row = (
        queryset.order_by()
        .annotate(elapsed=ExpressionWrapper(elapsed, output_field=DurationField()))
        .aggregate(mean=Avg("elapsed"), median=_Median(F("elapsed")), count=Count("pk"))
    )
    mean: timedelta | None = row["mean"]
    return ResponseTime(
        mean_seconds=None if mean is None else round(mean.total_seconds(), 1),
        median_seconds=None if row["median"] is None else round(row["median"], 1),
        count=row["count"],
    )


def mtta(alerts: QuerySet, since: datetime, until: datetime) -> ResponseTime:
    """MTTA over ``alerts`` (already filtered to what the reader may see)."""
    answered = Coalesce("acknowledged_at", "closed_at")
    scope = (
        alerts.filter(triggered_at__gte=since, triggered_at__lt=until)
        .exclude(close_reason=CloseReason.MUTED)
        .annotate(answered_at=answered)
        .filter(answered_at__isnull=False)
    )
    return _measure(scope, F("answered_at") - F("triggered_at"))


def mttr(incidents: QuerySet, since: datetime, until: datetime) -> ResponseTime:
    """MTTR over ``incidents`` (already filtered to what the reader may see)."""
    scope = incidents.filter(resolved_at__gte=since, resolved_at__lt=until)
    return _measure(scope, F("resolved_at") - F("created_at"))
