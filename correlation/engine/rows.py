"""The engine's rows: a correlation (one firing of a rule) and the events linked to it.

Identity is derived, never random: a single-event alert is ``uuid5(rule, event)``, a
correlation's is ``uuid5(rule, group key, window start)``, a suppression window's is
``uuid5(rule, key, first hit)``. Re-evaluating the same events (a replayed batch, a worker
killed half way, the sweeper re-sending) finds the same rows; links between correlations
and events are unique, so folding the same hit twice counts it once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F
from django.db.models.functions import Greatest

from socapp.bulk import copy_insert

from ..models import Correlation, CorrelationEvent

ALERT_NS = uuid.UUID("6f1c6c1e-8a51-4c1b-9a57-3b7d1a0e5c2a")
CORRELATION_NS = uuid.UUID("0b3e8f2d-5d7c-4a8e-b1f4-9c2d7e6a1f30")

Link = tuple[str, datetime]  # (event id, event time)
LINK_CHUNK = 1000  # rows per statement


def alert_id_of(identity: str) -> uuid.UUID:
    return uuid.uuid5(ALERT_NS, identity)


def correlation_id_of(identity: str) -> uuid.UUID:
    return uuid.uuid5(CORRELATION_NS, identity)


def correlation_exists(identity: str) -> bool:
    return Correlation.objects.filter(pk=correlation_id_of(identity)).exists()


@dataclass(frozen=True)
class NewCorrelation:
    """A firing about to be recorded (``correlation_rows`` writes a batch of them)."""

    identity: str
    rule_id: str
    name: str
    window: tuple[datetime, datetime]
    links: list[Link]
    confidence: float
    metadata: dict[str, Any]
    group_key: str
    raised_at: datetime

    @property
    def id(self) -> uuid.UUID:
        return correlation_id_of(self.identity)


def correlation_rows(items: list[NewCorrelation]) -> set[uuid.UUID]:
    """Make those of ``items`` that do not exist yet, with their event links, in a few
    statements whatever their number; returns the ids made. No savepoint (as for alerts):
    one worker at a time decides a given firing."""
    wanted = {item.id: item for item in items}
    existing = set(Correlation.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    new = [item for pk, item in wanted.items() if pk not in existing]
    copy_insert(
        [
            Correlation(
                id=item.id,
                name=item.name[:255],
                rule_id=item.rule_id,
                start_time=item.window[0],
                end_time=item.window[1],
                event_count=len(item.links),
                confidence_score=item.confidence,
                metadata=item.metadata,
                group_key=item.group_key[:255],
                raised_at=item.raised_at,
            )
            for item in new
        ]
    )
    rows = [(item.id, event_id, time) for item in new for event_id, time in item.links]
    for start in range(0, len(rows), LINK_CHUNK):
        _insert_links(rows[start : start + LINK_CHUNK])
    return {item.id for item in new}


def link_events(correlation_id: Any, links: list[Link]) -> int:
    """Link more events to a correlation; returns how many links are new, adds them to
    its event count and moves its end to the latest. One statement: the unique link index
    says which are new."""
    added = _insert_links([(correlation_id, event_id, time) for event_id, time in links])
    if added:
        Correlation.objects.filter(pk=correlation_id).update(
            event_count=F("event_count") + added,
            end_time=Greatest("end_time", max(t for _, t in links)),
        )
    return added


def _insert_links(rows: list[tuple[Any, str, datetime]]) -> int:
    if not rows:
        return 0
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CorrelationEvent._meta.db_table} (correlation_id, event_id, event_time) "  # noqa: S608
            f"VALUES {values} ON CONFLICT DO NOTHING RETURNING 1",
            [value for row in rows for value in row],
        )
        return len(cursor.fetchall())
