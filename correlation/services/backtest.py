"""Backtests: a rule run over stored history, showing what it would have raised.

A backtest is the live engine, not a copy of it. The rule and the rules it counts are
compiled as the workers compile them; the events the rule could match are read from
PostgreSQL with its detection pushed down as a superset condition (sigma/sql.py), in event
time order, and fed to ``correlate_events``. Correlation windows live in a scratch Redis
namespace, and everything the engine writes happens inside a transaction that is rolled
back — so alert ids are the live engine's ids (an alert live produced is reported as
existing), and nothing is raised, stored or pushed to anyone.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Max, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from sigma.rule import SigmaRule

from events.selectors import events_between, stored_events_matching
from socapp.audit import audit_record
from socapp.collector import without_cyclic_gc
from socapp.users import User

from ..engine.correlate import correlate_events
from ..engine.evaluate import StoredEvent
from ..engine.recorder import Raised
from ..engine.ruleset import RuleSet, build
from ..engine.windows import scratch_namespace
from ..models import Correlation, CorrelationEvent, CorrelationRule
from ..selectors import engine_filter_rows, rule_with_inputs
from ..sigma.documents import RuleInvalid, parse_documents
from ..sigma.sql import Condition, join_conditions, rule_condition

CHUNK = 2000
FIRST_MATCHES = 20
EVENTS_PER_MATCH = 20
MAX_SPAN = timedelta(days=366)
_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class BacktestError(ValueError):
    """A backtest that cannot run as asked (the message says why)."""


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``30m`` (that long before now) or an ISO 8601 time (UTC if no
    offset is given)."""
    now = now or timezone.now()
    match = _RELATIVE.match(text or "")
    if match:
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except (AttributeError, ValueError):
        raise BacktestError(
            f"'{text}' is neither ISO 8601 nor a relative time like 7d, 24h, 30m"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class WouldRaise:
    id: str
    title: str
    severity: str
    triggered_at: str
    last_seen_at: str
    group_key: str
    count: int
    existing: bool  # the live engine already raised it
    correlation_id: str  # the engine's record of the firing
    event_ids: list[str] = field(default_factory=list)  # its first events


@dataclass
class BacktestResult:
    rule_id: str
    sigma_id: str | None
    title: str
    since: str
    until: str
    events_in_range: int
    events_read: int
    hits: dict[str, int]
    alerts_total: int
    alerts_existing: int
    alerts_new: int
    first_matches: list[WouldRaise] = field(default_factory=list)
    pushdown: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@without_cyclic_gc  # the chunks' decoded documents: see without_cyclic_gc
def rule_backtest(
    *,
    actor: User | None,
    rule: CorrelationRule,
    since: datetime,
    until: datetime,
    first_matches: int = FIRST_MATCHES,
) -> BacktestResult:
    """What ``rule`` would have raised over events in [since, until]; lists up to
    ``first_matches`` of those alerts, earliest first."""
    if until <= since:
        raise BacktestError("'until' must be after 'since'")
    if until - since > MAX_SPAN:
        raise BacktestError("a backtest covers at most 366 days")
    rows = rule_with_inputs(rule)
    ruleset = _ruleset_for(rule, rows)
    condition = _pushdown(rows)
    raised = Raised()
    hits: dict[str, int] = {}
    read = 0
    with scratch_namespace(), transaction.atomic():
        chunk: list[StoredEvent] = []
        for row in stored_events_matching(since, until, condition.sql, condition.params, CHUNK):
            chunk.append(StoredEvent(str(row[0]), row[1], row[2], row[3] or {}, row[4] or ""))
            if len(chunk) >= CHUNK:
                read += _run(chunk, ruleset, raised, hits)
                chunk = []
        read += _run(chunk, ruleset, raised, hits, close_all=True)
        result = _result(rule, ruleset, (since, until), raised, (hits, read), condition)
        result.first_matches = _first_matches(result.first_matches[:first_matches])
        transaction.set_rollback(True)
    result.events_in_range = events_between(since, until).count()
    audit_record(
        actor=actor,
        action="rule.backtest",
        target=rule,
        changes={
            "since": result.since,
            "until": result.until,
            "alerts": result.alerts_total,
            "new": result.alerts_new,
        },
    )
    return result


def _ruleset_for(rule: CorrelationRule, rows: list[CorrelationRule]) -> RuleSet:
    try:
        parse_documents(rule.definition)  # to say why, when it does not compile
    except RuleInvalid as exc:
        raise BacktestError(f"the rule does not compile: {exc}") from exc
    ruleset = build(rows, engine_filter_rows([r.pk for r in rows]), generation=-1)
    target = ruleset.rules.get(str(rule.pk))
    if target is None:
        raise BacktestError("the rule does not compile (see its definition)")
    for compiled in ruleset.rules.values():
        # only the rule under test raises; the rules it counts still feed its windows
        compiled.emits = compiled is target
    return ruleset


def _pushdown(rows: list[CorrelationRule]) -> Condition:
    """What the detection rules among ``rows`` could match, as one SQL condition."""
    parts = []
    for row in rows:
        try:
            sigma = parse_documents(row.definition)[0].sigma
        except RuleInvalid as exc:  # stored before a limit was lowered, or edited since
            raise BacktestError(f"rule {row.name!r} no longer parses: {exc}") from exc
        if isinstance(sigma, SigmaRule):
            parts.append(rule_condition(sigma))
    return join_conditions(parts, "OR") if parts else Condition("FALSE")


def _run(
    chunk: list[StoredEvent],
    ruleset: RuleSet,
    raised: Raised,
    hits: dict[str, int],
    *,
    close_all: bool = False,
) -> int:
    evaluation = correlate_events(chunk, ruleset, raised=raised, close_all=close_all, dry=True)
    for hit in evaluation.hits:
        hits[hit.rule.name] = hits.get(hit.rule.name, 0) + 1
    return len(chunk)


def _result(
    rule: CorrelationRule,
    ruleset: RuleSet,
    span: tuple[datetime, datetime],
    raised: Raised,
    counted: tuple[dict[str, int], int],
    condition: Condition,
) -> BacktestResult:
    """The report, from the correlations the run made or found (this transaction sees
    them before it rolls back): one per alert it would raise."""
    target = ruleset.rules[str(rule.pk)]
    hits, read = counted
    created_here = {c for _, c, created in raised.items if created}
    existing = {c for _, c, created in raised.items if not created} - created_here
    alert_ids = {c: a for a, c, _ in raised.items if c is not None}
    found = {
        c.pk: c
        for c in Correlation.objects.filter(pk__in=alert_ids, rule_id=rule.pk).annotate(
            last_event=Max("event_links__event_time")
        )
    }
    ordered = sorted(found.values(), key=lambda c: (c.raised_at or c.start_time, str(c.pk)))
    return BacktestResult(
        rule_id=str(rule.pk),
        sigma_id=str(rule.sigma_id) if rule.sigma_id else None,
        title=target.title,
        since=span[0].isoformat(),
        until=span[1].isoformat(),
        events_in_range=0,
        events_read=read,
        hits=hits,
        alerts_total=len(ordered),
        alerts_existing=sum(1 for c in ordered if c.pk in existing),
        alerts_new=sum(1 for c in ordered if c.pk not in existing),
        first_matches=[
            _would_raise(c, alert_ids[c.pk], target.level, c.pk in existing) for c in ordered
        ],
        pushdown=condition.sql,
    )


def _would_raise(
    correlation: Correlation, alert_id: uuid.UUID, level: str, existing: bool
) -> WouldRaise:
    raised_at = correlation.raised_at or correlation.start_time
    last_event = getattr(correlation, "last_event", None)
    return WouldRaise(
        id=str(alert_id),
        title=correlation.name,
        severity=level,
        triggered_at=raised_at.isoformat(),
        last_seen_at=max(raised_at, last_event or raised_at).isoformat(),
        group_key=correlation.group_key,
        count=max(1, correlation.event_count),
        existing=existing,
        correlation_id=str(correlation.pk),
    )


def _first_matches(matches: list[WouldRaise]) -> list[WouldRaise]:
    """The reported matches with the first events of each (one query for all)."""
    links = (
        CorrelationEvent.objects.filter(correlation_id__in=[m.correlation_id for m in matches])
        .annotate(
            n=Window(
                RowNumber(),
                partition_by=F("correlation_id"),
                order_by=[F("event_time").asc(), F("id").asc()],
            )
        )
        .filter(n__lte=EVENTS_PER_MATCH)
        .order_by("correlation_id", "n")
        .values_list("correlation_id", "event_id")
    )
    events: dict[str, list[str]] = {}
    for correlation_id, event_id in links:
        events.setdefault(str(correlation_id), []).append(str(event_id))
    for match in matches:
        match.event_ids = events.get(match.correlation_id, [])
    return matches
