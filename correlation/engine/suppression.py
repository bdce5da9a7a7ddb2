"""Suppression: whether a hit raises a new alert or folds into one already raised for
the same rule and key. The mode is the rule's (``CorrelationRule.suppression_mode``),
the decision and the query are here; case work is asked, through the hand-off, only
whether each correlation's alert exists and is closed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import QuerySet

from ..choices import SuppressionMode
from ..handoff import alert_desk
from ..models import Correlation

STATE_CHECK_CHUNK = 50  # correlations whose alert state is asked at once, newest first


def lock_key(rule_id: str, group_key: str) -> None:
    """Serialize suppression decisions for one (rule, key) across workers (this
    transaction only), so two workers never both decide "raise"."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{rule_id}|{group_key}"]
        )


@dataclass(frozen=True)
class FoldTarget:
    correlation: Correlation
    alert_id: uuid.UUID


def fold_target(
    *, rule_id: str, group_key: str, mode: str, at: datetime, window_seconds: int
) -> FoldTarget | None:
    """The correlation (and its alert) of this rule and key that a hit at ``at`` folds
    into; None: raise a new one. Called under ``lock_key``. Only a correlation whose
    alert still exists counts (an admin may have deleted it).

    - window: the newest raised within ``window_seconds`` before ``at``;
    - until closed, rises: the newest whose alert is not closed."""
    same_key = Correlation.objects.filter(rule_id=uuid.UUID(rule_id), group_key=group_key).exclude(
        raised_at=None
    )
    if mode == SuppressionMode.WINDOW:
        in_window = same_key.filter(
            raised_at__lte=at, raised_at__gt=at - timedelta(seconds=window_seconds)
        )
        return _newest(in_window, open_only=False)
    if mode in (SuppressionMode.UNTIL_CLOSED, SuppressionMode.RISES):
        return _newest(same_key, open_only=True)
    return None


def _newest(correlations: QuerySet[Correlation], *, open_only: bool) -> FoldTarget | None:
    newest_first = correlations.order_by("-raised_at")
    start = 0
    while chunk := list(newest_first[start : start + STATE_CHECK_CHUNK]):
        states = alert_desk().alert_states([c.pk for c in chunk])
        for correlation in chunk:
            state = states.get(correlation.pk)
            if state is not None and not (open_only and state.closed):
                return FoldTarget(correlation, state.alert_id)
        start += STATE_CHECK_CHUNK
    return None
