"""What a run of the engine leaves besides alerts: each rule's statistics (its health
page) and the (rule, event) pairs that raised an error (its quarantine)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from ..models import RuleQuarantine, RuleStats
from .evaluate import Evaluation, RuleError


@dataclass
class RunCounts:
    """What a run did per rule beyond matching: alerts raised, hits folded, errors, and
    for a correlation rule what matching cannot count - the hits it took into its windows
    (its events evaluated) and the windows that met its condition (its own hits), so its
    health page never shows alerts raised beside nothing evaluated."""

    alerts: dict[str, int] = field(default_factory=dict)
    fed: dict[str, int] = field(default_factory=dict)
    fired: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    fired_at: dict[str, datetime] = field(default_factory=dict)
    poisoned: list[RuleError] = field(default_factory=list)  # (rule, event) pairs that raised

    def raised(self, rule_id: str, at: datetime) -> None:
        self.alerts[rule_id] = self.alerts.get(rule_id, 0) + 1
        self.fired_at[rule_id] = max(at, self.fired_at.get(rule_id, at))

    def folded(self, rule_id: str, hits: int) -> None:
        self.suppressed[rule_id] = self.suppressed.get(rule_id, 0) + hits

    def counted(self, rule_id: str) -> None:
        """A correlation rule took a hit of a rule it counts into its windows."""
        self.fed[rule_id] = self.fed.get(rule_id, 0) + 1

    def decided(self, rule_id: str) -> None:
        """A window of a correlation rule met its condition (a firing)."""
        self.fired[rule_id] = self.fired.get(rule_id, 0) + 1


STATS_COLUMNS = (
    "evaluations",
    "errors",
    "time_spent",
    "hits",
    "alerts",
    "suppressed",
    "quarantined",
)


def quarantine(poisoned: list[RuleError], batch_id: Any) -> None:
    """Keep each (rule, event) that raised, with its error (once per pair)."""
    if not poisoned:
        return
    RuleQuarantine.objects.bulk_create(
        [
            RuleQuarantine(
                rule_id=item.rule_id,
                event_id=item.event.event_id,
                event_time=item.event.event_time,
                batch_id=batch_id,
                error=item.error,
            )
            for item in poisoned
        ],
        ignore_conflicts=True,
    )


def save_stats(evaluation: Evaluation, counts: RunCounts) -> None:
    """Add this evaluation's counts to each rule's statistics in three statements, rows
    locked in rule order so concurrent workers never deadlock on them."""
    quarantined = Counter(item.rule_id for item in counts.poisoned)
    feed_errors = counts.poisoned[len(evaluation.errors) :]  # matching errors are tallied
    errors = Counter(item.rule_id for item in feed_errors)
    last_errors = {item.rule_id: item.error for item in feed_errors}
    rule_ids = sorted(
        set(evaluation.tallies)
        | set(counts.alerts)
        | set(counts.suppressed)
        | set(errors)
        | set(counts.fed)
        | set(counts.fired)
    )
    if not rule_ids:
        return
    RuleStats.objects.bulk_create([RuleStats(rule_id=r) for r in rule_ids], ignore_conflicts=True)
    rows = []
    for rule_id in rule_ids:
        tally = evaluation.tallies.get(rule_id)
        rows.append(
            (
                rule_id,
                (tally.evaluations if tally else 0) + counts.fed.get(rule_id, 0),
                (tally.errors if tally else 0) + errors.get(rule_id, 0),
                tally.time_spent if tally else 0.0,
                (tally.hits if tally else 0) + counts.fired.get(rule_id, 0),
                counts.alerts.get(rule_id, 0),
                counts.suppressed.get(rule_id, 0),
                quarantined.get(rule_id, 0),
                counts.fired_at.get(rule_id),
                last_errors.get(rule_id) or (tally.last_error if tally else "") or "",
            )
        )
    sums = ", ".join(f"{c} = s.{c} + v.{c}" for c in STATS_COLUMNS)
    # one array per column (not a VALUES list of 10 placeholders a rule: building and
    # parsing a statement of 10,000 placeholders cost more than running it)
    columns = [list(column) for column in zip(*rows, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM correlation_rule_stats WHERE rule_id = ANY(%s::uuid[]) "
            "ORDER BY rule_id FOR UPDATE",
            [rule_ids],
        )
        cursor.execute(
            f"UPDATE correlation_rule_stats AS s SET {sums}, "  # noqa: S608 - our column names
            "last_fired_at = GREATEST(s.last_fired_at, v.last_fired_at), "
            "last_error = COALESCE(NULLIF(v.last_error, ''), s.last_error), "
            "updated_at = now() "
            "FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::float8[], %s::bigint[], "
            "%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[], %s::text[]) "
            f"AS v(rule_id, {', '.join(STATS_COLUMNS)}, last_fired_at, last_error) "
            "WHERE s.rule_id = v.rule_id",
            columns,
        )
