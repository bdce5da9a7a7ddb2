"""Running the engine over committed batches: hits become correlations and alerts.

Alert identity is derived, never random: a single-event alert is ``uuid5(rule, event)``,
a correlation's is ``uuid5(rule, group key, window start)``, a suppression window's is
``uuid5(rule, key, first hit)``. Re-evaluating the same events (a replayed batch, a worker
killed half way, the sweeper re-sending) finds the same alerts; links between alerts and
events are unique, so folding the same hit twice counts it once.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from redis.exceptions import RedisError

from events.models import Event, Source
from incidents.selectors import alert_to_fold, severity_by_name
from incidents.services import alert_fold, alert_raise
from socapp.audit import AuditItem, audit_record_many

from ..choices import SuppressionMode
from ..engine.evaluate import (
    Budget,
    Evaluation,
    Hit,
    OverBudget,
    RuleError,
    StoredEvent,
    evaluate,
)
from ..engine.ruleset import CompiledRule, RuleSet, active_ruleset
from ..engine.windows import MAX_LINKED, Firing, Fold, Windows, close_timer, due_timers
from ..engine.windows.deferred import deferred_writes
from ..models import Correlation, CorrelationEvent, CorrelationRule, RuleQuarantine, RuleStats

logger = logging.getLogger(__name__)

FOLD_CHUNK = 1000  # links written per statement when folding a batch's hits
ALERT_NS = uuid.UUID("6f1c6c1e-8a51-4c1b-9a57-3b7d1a0e5c2a")
CORRELATION_NS = uuid.UUID("0b3e8f2d-5d7c-4a8e-b1f4-9c2d7e6a1f30")


def correlate_events(
    events: list[StoredEvent],
    ruleset: RuleSet,
    *,
    raised: list[tuple[uuid.UUID, bool]] | None = None,
    close_all: bool = False,
    dry: bool = False,
    budget: Budget | None = None,
    batch_id: Any = None,
) -> Evaluation:
    """Match ``events``, feed correlation windows, raise and fold alerts, keep stats.

    ``raised`` collects (alert id, created) for every alert raised or folded into (a
    backtest reads them before rolling back); ``close_all`` decides every open window
    now, whatever the clock says (the end of a backtest). ``dry``: a run that will be
    rolled back (a backtest) takes none of the locks live workers share — the audit
    chain's, the rule statistics rows, the suppression keys — and writes neither.
    ``budget``: raises OverBudget once spent (between two events, or two hits); the
    caller rolls back and splits. A rule that raises on an event (matching it, feeding
    its windows) has the event quarantined with the error; the rest goes on."""
    started = time.perf_counter()
    # Event-time order (ties by id, the order windows keep): lateness is measured against
    # the newest hit of a key, so a batch spanning more than the allowed lateness must not
    # be fed newest first, and in-order hits are the cheap ones to decide.
    events = sorted(events, key=lambda e: (e.event_time, e.event_id))
    budget = budget if budget is not None else Budget()
    evaluation = evaluate(ruleset, events, budget)
    recorder = _Recorder(ruleset, raised, dry=dry, budget=budget)
    with deferred_writes():  # a hit's last write goes with the next hit's read
        for hit in evaluation.hits:
            recorder.hit(hit)
            budget.check()
    recorder.flush_folds()
    recorder.close_due_windows(float("inf") if close_all else None)
    recorder.poisoned[:0] = evaluation.errors
    if not dry:
        audit_record_many(actor=None, items=recorder.audit)
        _save_stats(evaluation, recorder)
        _quarantine(recorder.poisoned, batch_id)
    logger.debug(
        "%d events, %d hits in %.3fs",
        len(events),
        len(evaluation.hits),
        time.perf_counter() - started,
    )
    return evaluation


def close_windows() -> int:
    """Decide the correlation windows whose time is up (the periodic task)."""
    recorder = _Recorder(active_ruleset())
    with transaction.atomic():
        count = recorder.close_due_windows()
        audit_record_many(actor=None, items=recorder.audit)
        _save_stats(Evaluation(), recorder)
    return count


class _Recorder:
    """Turns hits, firings and folds into rows, and counts what it did per rule."""

    def __init__(
        self,
        ruleset: RuleSet,
        raised: list[tuple[uuid.UUID, bool]] | None = None,
        *,
        dry: bool = False,
        budget: Budget | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.dry = dry
        self.budget = budget if budget is not None else Budget()
        self.poisoned: list[RuleError] = []  # (rule, event) pairs that raised
        self.raised = raised if raised is not None else []
        self.audit: list[AuditItem] = []  # written once, at the end (the chain's lock)
        self.teams: dict[Any, Any] = {}
        self.alerts: dict[str, int] = {}
        self.suppressed: dict[str, int] = {}
        self.fired_at: dict[str, datetime] = {}
        self.chain_hits: dict[str, int] = {}
        self.source_names: dict[Any, str | None] = {}
        # firing identity -> (rule, links of the hits folded into it in this batch)
        self.pending_folds: dict[str, tuple[CompiledRule, list[tuple[str, datetime]]]] = {}

    # -- single events ------------------------------------------------------------

    def hit(self, hit: Hit) -> None:
        rule = hit.rule
        if rule.emits:
            self._guarded(rule, hit.event, self._detection_alert, rule, hit.event)
        for parent in self.ruleset.correlations_using(rule.id):
            self._guarded(parent, hit.event, self._feed, parent, rule.id, hit.event)

    def _guarded(self, rule: CompiledRule, event: StoredEvent, work: Any, *args: Any) -> None:
        """Run one rule's work on one event, timed for the budget. An exception of the
        rule's own (a value it cannot handle) quarantines the event for that rule and the
        batch goes on; the database or Redis failing is not the event's fault, and fails
        the batch (it is replayed)."""
        clock = time.perf_counter()
        try:
            work(*args)
        except (DatabaseError, RedisError, OverBudget):
            raise
        except Exception as exc:
            logger.warning("rule %s failed on event %s", rule.id, event.event_id, exc_info=True)
            self.poisoned.append(RuleError(rule.id, event, f"{type(exc).__name__}: {exc}"[:500]))
        finally:
            self.budget.spent[rule.id] += time.perf_counter() - clock

    def _source_names(self, source_ids: list[Any]) -> list[str]:
        names = []
        for source_id in source_ids:
            if source_id not in self.source_names:
                self.source_names[source_id] = (
                    Source.objects.filter(pk=source_id).values_list("name", flat=True).first()
                )
            if name := self.source_names[source_id]:
                names.append(name)
        return sorted(set(names))

    def _team_of(self, rule: CompiledRule, event: StoredEvent) -> Any:
        if rule.team_id:
            return rule.team_id
        if event.source_id not in self.teams:
            self.teams[event.source_id] = (
                Source.objects.filter(pk=event.source_id).values_list("team_id", flat=True).first()
            )
        return self.teams[event.source_id] or _default_team()

    def _detection_alert(self, rule: CompiledRule, event: StoredEvent) -> None:
        from ..sigma.values import EventView

        view = EventView(event.doc, event.raw)
        key_values = {name: view.lookup(name) for name in rule.suppress_by}
        group_key = ", ".join(f"{k}={v}" for k, v in key_values.items() if v is not None)
        details = {
            "sigma_id": rule.sigma_id,
            "event_ids": [event.event_id],
            "entities": _entities(event.doc),
            "sources": self._source_names([event.source_id]),
        }
        self._raise_or_fold(
            rule,
            group_key=group_key,
            at=event.event_time,
            links=[(event.event_id, event.event_time)],
            identity=f"{rule.id}:{event.event_id}",
            window=(event.event_time, event.event_time),
            team=self._team_of(rule, event),
            details=details,
            metric=1.0,
        )

    # -- correlations -------------------------------------------------------------

    def _feed(self, parent: CompiledRule, child_id: str, event: StoredEvent) -> None:
        from ..sigma.values import EventView

        spec = parent.correlation
        assert spec is not None
        view = EventView(event.doc, event.raw)
        result = Windows(spec).feed(child_id, event.event_id, event.event_time, view.lookup)
        for firing in result.firings:
            self._correlation_alert(parent, firing, event)
        for fold in result.folds:
            self._fold_into_firing(parent, fold, event)

    def _firing_identity(self, rule: CompiledRule, firing: Firing) -> str:
        return f"{rule.id}:{firing.group_key}:{firing.window_start.isoformat()}"

    def _correlation_alert(
        self, rule: CompiledRule, firing: Firing, event: StoredEvent | None
    ) -> None:
        spec = rule.correlation
        assert spec is not None
        links = [(m.event_id, m.time) for m in firing.members]
        details = {
            "sigma_id": rule.sigma_id,
            "correlation_type": spec.kind,
            "group_by": firing.group_values,
            "metric": firing.metric,
            "condition": spec.condition,
            "timespan": spec.timespan,
            "window": [firing.window_start.isoformat(), firing.window_end.isoformat()],
            "event_ids": [m.event_id for m in firing.members[:100]],
            "sources": _sources_of_events(firing),
        }
        team = rule.team_id or (self._team_of(rule, event) if event else None)
        if team is None:
            team = self._team_for_links(links)
        if rule.emits:
            self._raise_or_fold(
                rule,
                group_key=firing.group_key,
                at=firing.at,
                links=links,
                identity=self._firing_identity(rule, firing),
                window=(firing.window_start, firing.window_end),
                team=team,
                details=details,
                metric=firing.metric,
                confidence=_confidence(spec.condition, firing.metric),
            )
        # chaining: this firing is a hit for the correlations that count this rule
        chained = StoredEvent(
            event_id=str(uuid.uuid5(CORRELATION_NS, self._firing_identity(rule, firing))),
            event_time=firing.at,
            source_id=event.source_id if event else None,
            doc=dict(firing.group_values),
        )
        for parent in self.ruleset.correlations_using(rule.id):
            self.chain_hits[rule.id] = self.chain_hits.get(rule.id, 0) + 1
            self._feed(parent, rule.id, chained)

    def _fold_into_firing(self, rule: CompiledRule, fold: Fold, event: StoredEvent) -> None:
        """Queue a hit for the alert of the window it fell in; the links and counts of a
        batch's folds are written per alert, once, by ``flush_folds``."""
        if not rule.emits:
            return
        identity = self._firing_identity(rule, fold.firing)
        pending = self.pending_folds.get(identity)
        if pending is None:
            from incidents.models import Alert

            if not Alert.objects.filter(pk=uuid.uuid5(ALERT_NS, identity)).exists():
                # the firing was decided but its alert never committed (a worker died)
                self._correlation_alert(rule, fold.full(), event)
            pending = self.pending_folds[identity] = (rule, [])
        pending[1].append((fold.member.event_id, fold.member.time))

    def flush_folds(self) -> None:
        from incidents.models import Alert

        for identity, (rule, links) in self.pending_folds.items():
            correlation_id = uuid.uuid5(CORRELATION_NS, identity)
            added = sum(
                _link(correlation_id, links[i : i + FOLD_CHUNK])
                for i in range(0, len(links), FOLD_CHUNK)
            )
            if added:
                alert = Alert.objects.select_related("severity").get(
                    pk=uuid.uuid5(ALERT_NS, identity)
                )
                alert_fold(alert=alert, hits=added, last_seen_at=max(t for _, t in links))
                self.suppressed[rule.id] = self.suppressed.get(rule.id, 0) + added
        self.pending_folds.clear()

    def close_due_windows(self, now: float | None = None) -> int:
        closed = 0
        for rule_id, key, start in due_timers(time.time() if now is None else now):
            rule = self.ruleset.rules.get(rule_id)
            if rule is None or rule.correlation is None:
                continue
            firing = close_timer(rule.correlation, key, start)
            closed += 1
            if firing is not None:
                self._correlation_alert(rule, firing, None)
        return closed

    def _team_for_links(self, links: list[tuple[str, datetime]]) -> Any:
        if links:
            event_id, event_time = links[0]
            source_id = (
                Event.objects.filter(event_id=event_id, event_time=event_time)
                .values_list("source_id", flat=True)
                .first()
            )
            if source_id is not None:
                return Source.objects.filter(pk=source_id).values_list("team_id", flat=True).first()
        return _default_team()

    # -- alerts -------------------------------------------------------------------

    def _raise_or_fold(
        self,
        rule: CompiledRule,
        *,
        group_key: str,
        at: datetime,
        links: list[tuple[str, datetime]],
        identity: str,
        window: tuple[datetime, datetime],
        team: Any,
        details: dict[str, Any],
        metric: float,
        confidence: float = 1.0,
    ) -> None:
        mode = rule.suppression_mode
        with transaction.atomic(savepoint=False):
            if mode != SuppressionMode.NONE:
                if not self.dry:
                    _lock(rule.id, group_key)
                existing = alert_to_fold(
                    rule_id=rule.id,
                    group_key=group_key,
                    mode=mode,
                    at=at,
                    window_seconds=rule.suppression_window,
                )
                if existing is not None and existing.correlation_id is not None:
                    added = _link(existing.correlation_id, links)
                    self.raised.append((existing.pk, False))
                    if added:
                        rises = mode == SuppressionMode.RISES and metric > existing.count
                        alert_fold(
                            alert=existing, hits=added, last_seen_at=at, suppressed=not rises
                        )
                        if not rises:
                            self.suppressed[rule.id] = self.suppressed.get(rule.id, 0) + added
                    return
                identity = f"{rule.id}:{group_key}:{identity}"
            correlation = _correlation(rule, identity, window, links, confidence, details)
            alert, created = alert_raise(
                alert_id=uuid.uuid5(ALERT_NS, identity),
                title=rule.title,
                severity=severity_by_name(rule.level),
                team=team,
                rule=CorrelationRule(pk=rule.id),
                correlation=correlation,
                group_key=group_key,
                description=rule.description,
                details={**details, "techniques": rule.techniques},
                triggered_at=at,
                count=max(1, len(links)),
                audit=self.audit,
            )
            self.raised.append((alert.pk, created))
            if created:
                self.alerts[rule.id] = self.alerts.get(rule.id, 0) + 1
                self.fired_at[rule.id] = max(at, self.fired_at.get(rule.id, at))


def _default_team() -> Any:
    from socapp.models import DEFAULT_TEAM, Team

    return Team.objects.filter(name=DEFAULT_TEAM).values_list("pk", flat=True).first()


def _sources_of_events(firing: Firing) -> list[str]:
    """Names of the sources behind a correlation's events (searched within its window,
    so only the partitions that can hold them are read)."""
    ids = [m.event_id for m in firing.members[:MAX_LINKED]]
    names = (
        Event.objects.filter(
            event_id__in=ids,
            event_time__gte=firing.window_start,
            event_time__lte=firing.window_end,
        )
        .values_list("source__name", flat=True)
        .distinct()
    )
    return sorted(n for n in names if n)


def _confidence(condition: dict[str, float], metric: float) -> float:
    """How far past its threshold a correlation fired: 0.5 at the threshold, towards 1."""
    thresholds = [t for op, t in condition.items() if op in ("gt", "gte") and t > 0]
    if not thresholds:
        return 1.0
    return round(min(1.0, 0.5 + 0.5 * (metric - thresholds[0]) / thresholds[0]), 3)


def _lock(rule_id: str, key: str) -> None:
    """Serialize suppression decisions for one (rule, key) across workers (this
    transaction only)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{rule_id}|{key}"]
        )


def _correlation(
    rule: CompiledRule,
    identity: str,
    window: tuple[datetime, datetime],
    links: list[tuple[str, datetime]],
    confidence: float,
    details: dict[str, Any],
) -> Correlation:
    correlation_id = uuid.uuid5(CORRELATION_NS, identity)
    existing = Correlation.objects.filter(pk=correlation_id).first()
    if existing is not None:
        return existing
    # no savepoint (as for alerts): one worker at a time decides a given firing
    correlation = Correlation.objects.create(
        id=correlation_id,
        name=rule.title[:255],
        rule_id=rule.id,
        start_time=window[0],
        end_time=window[1],
        event_count=len(links),
        confidence_score=confidence,
        metadata={k: v for k, v in details.items() if k != "event_ids"},
    )
    _link(correlation.pk, links, count=False)
    return correlation


def _link(correlation_id: Any, links: list[tuple[str, datetime]], *, count: bool = True) -> int:
    """Link events to a correlation; returns how many links are new (and, with ``count``,
    adds them to its event count). One statement: the unique link index says which."""
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
            event_count=F("event_count") + added, end_time=max(t for _, t in links)
        )
    return added


def _entities(doc: dict[str, Any]) -> dict[str, Any]:
    """The entities an analyst pivots on, for the alert's details."""
    from events.parsers.base import get

    found = {
        "source.ip": get(doc, "source.ip"),
        "destination.ip": get(doc, "destination.ip"),
        "user.name": get(doc, "user.name") or doc.get("User") or doc.get("TargetUserName"),
        "host.name": get(doc, "host.name") or doc.get("Computer"),
        "process.executable": get(doc, "process.executable") or doc.get("Image"),
    }
    return {k: v for k, v in found.items() if v not in (None, "")}


STATS_COLUMNS = (
    "evaluations",
    "errors",
    "time_spent",
    "hits",
    "alerts",
    "suppressed",
    "quarantined",
)


def _quarantine(poisoned: list[RuleError], batch_id: Any) -> None:
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


def _save_stats(evaluation: Evaluation, recorder: _Recorder) -> None:
    """Add this evaluation's counts to each rule's statistics in three statements, rows
    locked in rule order so concurrent workers never deadlock on them."""
    quarantined = Counter(item.rule_id for item in recorder.poisoned)
    feed_errors = recorder.poisoned[len(evaluation.errors) :]  # matching errors are tallied
    errors = Counter(item.rule_id for item in feed_errors)
    last_errors = {item.rule_id: item.error for item in feed_errors}
    rule_ids = sorted(
        set(evaluation.tallies) | set(recorder.alerts) | set(recorder.suppressed) | set(errors)
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
                tally.evaluations if tally else 0,
                (tally.errors if tally else 0) + errors.get(rule_id, 0),
                tally.time_spent if tally else 0.0,
                tally.hits if tally else 0,
                recorder.alerts.get(rule_id, 0),
                recorder.suppressed.get(rule_id, 0),
                quarantined.get(rule_id, 0),
                recorder.fired_at.get(rule_id),
                last_errors.get(rule_id) or (tally.last_error if tally else "") or "",
            )
        )
    values = ", ".join(
        ["(%s::uuid, %s::bigint, %s::bigint, %s::float8, %s::bigint, %s::bigint, %s::bigint, "
         "%s::bigint, %s::timestamptz, %s::text)"] * len(rows)
    )  # fmt: skip
    sums = ", ".join(f"{c} = s.{c} + v.{c}" for c in STATS_COLUMNS)
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
            f"FROM (VALUES {values}) AS v(rule_id, {', '.join(STATS_COLUMNS)}, last_fired_at, "
            "last_error) WHERE s.rule_id = v.rule_id",
            [item for row in rows for item in row],
        )
