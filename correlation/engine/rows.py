"""The engine's rows: a correlation (one firing of a rule) and the events linked to it.

Identity is derived, never random: a single-event alert is ``uuid5(rule, event)``, a
correlation's is ``uuid5(rule, group key, window start)``, a suppression window's is
``uuid5(rule, key, first hit)``. Re-evaluating the same events (a replayed batch, a worker
killed half way, the sweeper re-sending) finds the same rows; links between correlations
and events are unique, so folding the same hit twice counts it once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F
from django.db.models.functions import Greatest

from ..models import Correlation, CorrelationEvent
from .ruleset import CompiledRule

ALERT_NS = uuid.UUID("6f1c6c1e-8a51-4c1b-9a57-3b7d1a0e5c2a")
CORRELATION_NS = uuid.UUID("0b3e8f2d-5d7c-4a8e-b1f4-9c2d7e6a1f30")

Link = tuple[str, datetime]  # (event id, event time)


def alert_id_of(identity: str) -> uuid.UUID:
    return uuid.uuid5(ALERT_NS, identity)


def correlation_id_of(identity: str) -> uuid.UUID:
    return uuid.uuid5(CORRELATION_NS, identity)


def correlation_exists(identity: str) -> bool:
    return Correlation.objects.filter(pk=correlation_id_of(identity)).exists()


def correlation_row(
    rule: CompiledRule,
    identity: str,
    *,
    window: tuple[datetime, datetime],
    links: list[Link],
    confidence: float,
    metadata: dict[str, Any],
    group_key: str,
    raised_at: datetime,
) -> tuple[Correlation, bool]:
    """The correlation ``identity`` with its links, made unless it exists; returns
    (correlation, created)."""
    correlation_id = correlation_id_of(identity)
    existing = Correlation.objects.filter(pk=correlation_id).first()
    if existing is not None:
        return existing, False
    # no savepoint (as for alerts): one worker at a time decides a given firing
    correlation = Correlation.objects.create(
        id=correlation_id,
        name=rule.title[:255],
        rule_id=rule.id,
        start_time=window[0],
        end_time=window[1],
        event_count=len(links),
        confidence_score=confidence,
        metadata=metadata,
        group_key=group_key[:255],
        raised_at=raised_at,
    )
    link_events(correlation.pk, links, count=False)
    return correlation, True


def link_events(correlation_id: Any, links: list[Link], *, count: bool = True) -> int:
    """Link events to a correlation; returns how many links are new (and, with ``count``,
    adds them to its event count and moves its end to the latest). One statement: the
    unique link index says which are new."""
    if not links:
        return 0
    rows = ", ".join(["(%s, %s, %s)"] * len(links))
    params: list[Any] = []
    for event_id, event_time in links:
        params += [correlation_id, event_id, event_time]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CorrelationEvent._meta.db_table} (correlation_id, event_id, event_time) "  # noqa: S608
            f"VALUES {rows} ON CONFLICT DO NOTHING RETURNING 1",
            params,
        )
        added = len(cursor.fetchall())
    if count and added:
        Correlation.objects.filter(pk=correlation_id).update(
            event_count=F("event_count") + added,
            end_time=Greatest("end_time", max(t for _, t in links)),
        )
    return added
