"""Turning the engine's hits into correlations and alerts.

A hit of a detection rule raises (or folds into) an alert; a hit of a rule that a
correlation counts feeds that correlation's windows, whose firings raise alerts and may
in turn feed the correlations that count them (chaining). Alerts leave through the
hand-off to case work (``correlation.handoff``); the correlation rows, their event links
and the suppression decision stay here."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, transaction
from redis.exceptions import RedisError

from events.fields import get
from events.selectors import source_name_and_team, source_names_of_events, source_of_event
from socapp.audit import AuditItem
from socapp.ids import uuid_right_after
from socapp.selectors import default_team_id

from ..choices import SuppressionMode
from ..handoff import AlertDetails, FoldedHits, RaisedAlert, alert_desk
from ..sigma.values import EventView
from .evaluate import Budget, Hit, OverBudget, RuleError, StoredEvent
from .indicators import alerting_hits, host_of, level_of
from .rows import (
    CORRELATION_NS,
    Link,
    NewCorrelation,
    alert_id_of,
    correlation_exists,
    correlation_id_of,
    correlation_rows,
    link_events,
)
from .ruleset import CompiledRule, RuleSet
from .stats import RunCounts
from .suppression import fold_target, lock_key
from .windows import MAX_LINKED, Firing, Fold, Windows, close_timer, due_timers

logger = logging.getLogger(__name__)

FOLD_CHUNK = 1000  # links written per statement when folding a batch's hits
RAISE_CHUNK = 1000  # new alerts held, then handed to case work at once


@dataclass(frozen=True)
class _Raise:
    rule_id: str
    correlation: NewCorrelation
    alert: RaisedAlert


class Raised:
    """What a run raised or folded into: (alert id, correlation id, created), in order
    (a backtest reports them before it rolls back)."""

    def __init__(self) -> None:
        self.items: list[tuple[uuid.UUID, uuid.UUID | None, bool]] = []

    def add(self, alert_id: uuid.UUID, correlation_id: uuid.UUID | None, created: bool) -> None:
        self.items.append((alert_id, correlation_id, created))


class Recorder:
    """Turns hits, firings and folds into rows and alerts, and counts what it did per
    rule (``counts``)."""

    def __init__(
        self,
        ruleset: RuleSet,
        raised: Raised | None = None,
        *,
        dry: bool = False,
        budget: Budget | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.dry = dry
        self.budget = budget if budget is not None else Budget()
        self.raised = raised if raised is not None else Raised()
        self.counts = RunCounts()
        self.audit: list[AuditItem] = []  # written once, at the end (the chain's lock)
        self.chain_hits: dict[str, int] = {}
        self.sources: dict[Any, tuple[str | None, Any]] = {}  # source -> (name, team)
        self.queued: dict[str, _Raise] = {}  # new alerts, written at the end of the batch
        # firing identity -> (rule, links of the hits folded into it in this batch,
        # names of their sources)
        self.pending_folds: dict[str, tuple[CompiledRule, list[Link], set[str]]] = {}
        # IOC matches: indicator id -> (matches, newest event time); (indicator, alert) new
        self.ioc_seen: dict[str, tuple[int, datetime]] = {}
        self.ioc_alerts: list[tuple[str, str]] = []

    # -- single events ------------------------------------------------------------

    def hit(self, hit: Hit) -> None:
        rule = hit.rule
        if rule.emits and rule.ioc_match:
            self._guarded(rule, hit.event, self._ioc_alerts, rule, hit.event)
        elif rule.emits:
            self._guarded(rule, hit.event, self._detection_alert, rule, hit.event)
        for parent in self.ruleset.correlations_using(rule.id):
            self._guarded(parent, hit.event, self._feed, parent, rule.id, hit.event)

    def _guarded(
        self, rule: CompiledRule, event: StoredEvent, work: Callable[..., None], *args: Any
    ) -> None:
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
            error = f"{type(exc).__name__}: {exc}"[:500]
            self.counts.poisoned.append(RuleError(rule.id, event, error))
        finally:
            self.budget.spent[rule.id] += time.perf_counter() - clock

    def _source(self, source_id: Any) -> tuple[str | None, Any]:
        if source_id not in self.sources:
            self.sources[source_id] = source_name_and_team(source_id)
        return self.sources[source_id]

    def _team_of(self, rule: CompiledRule, event: StoredEvent) -> Any:
        return rule.team_id or self._source(event.source_id)[1] or default_team_id()

    def _detection_alert(self, rule: CompiledRule, event: StoredEvent) -> None:
        view = EventView(event.doc, event.raw)
        key_values = {name: view.lookup(name) for name in rule.suppress_by}
        group_key = ", ".join(f"{k}={v}" for k, v in key_values.items() if v is not None)
        source_name = self._source(event.source_id)[0]
        details = AlertDetails(
            sigma_id=rule.sigma_id,
            event_ids=[event.event_id],
            entities=_entities(event.doc),
            sources=[source_name] if source_name else [],
        )
        caveats = rule.caveats(view)
        if caveats:
            details["caveats"] = caveats
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

    def _ioc_alerts(self, rule: CompiledRule, event: StoredEvent) -> None:
        """An IOC-match rule's hit: one alert per indicator the event carries, suppressed
        per (indicator, host), its severity from the indicator's score."""
        source_name = self._source(event.source_id)[0]
        for found in alerting_hits(event.doc):
            count, newest = self.ioc_seen.get(found.ioc_id, (0, event.event_time))
            self.ioc_seen[found.ioc_id] = (count + 1, max(newest, event.event_time))
            host = host_of(event.doc, found)
            details = AlertDetails(
                sigma_id=rule.sigma_id,
                event_ids=[event.event_id],
                entities=_entities(event.doc),
                sources=[source_name] if source_name else [],
                indicator=found.indicator,
                matched={"field": found.field, "value": found.value},
                retro_hunt=found.retro_hunt,
            )
            kind = found.indicator["type"] or "indicator"
            title = f"{rule.title}: {kind} {found.indicator['value']}"[:250]
            self._raise_or_fold(
                rule,
                group_key=f"ioc={found.ioc_id}, host={host}",
                at=event.event_time,  # a retro-hunt's alert carries the event's own time
                links=[(event.event_id, event.event_time)],
                identity=f"{rule.id}:{event.event_id}:{found.ioc_id}",
                window=(event.event_time, event.event_time),
                team=self._team_of(rule, event),
                details=details,
                metric=1.0,
                confidence=found.score,
                level=level_of(found.score),
                title=f"{title} (retro-hunt)" if found.retro_hunt else title,
            )

    # -- correlations -------------------------------------------------------------

    def _feed(self, parent: CompiledRule, child_id: str, event: StoredEvent) -> None:
        spec = parent.correlation
        assert spec is not None
        self.counts.counted(parent.id)
        view = EventView(event.doc, event.raw)
        result = Windows(spec).feed(child_id, event.event_id, event.event_time, view.lookup)
        for firing in result.firings:
            self._correlation_alert(parent, firing, event)
        for fold in result.folds:
            self._fold_into_firing(parent, fold, event)

    def _firing_identity(self, rule: CompiledRule, firing: Firing) -> str:
        return f"{rule.id}:{firing.group_key}:{firing.window_start.isoformat()}"

    def _chained_id(self, rule: CompiledRule, firing: Firing) -> str:
        """The id of a firing as a hit of the correlations that count it: derived from the
        firing (a replay feeds the same hit), and placed in the stream right after the
        hit that decided it, so among hits of one second a later event follows it ("brute
        force followed by a success" logged in the same second)."""
        identity = self._firing_identity(rule, firing)
        decided_by = [m for m in firing.members if m.time <= firing.at]
        if decided_by:
            last = max(decided_by, key=lambda m: (m.ts, m.event_id))
            with contextlib.suppress(ValueError):
                return str(uuid_right_after(last.event_id, CORRELATION_NS, identity))
        return str(uuid.uuid5(CORRELATION_NS, identity))

    def _correlation_alert(
        self, rule: CompiledRule, firing: Firing, event: StoredEvent | None
    ) -> None:
        spec = rule.correlation
        assert spec is not None
        self.counts.decided(rule.id)
        links = [(m.event_id, m.time) for m in firing.members]
        details = AlertDetails(
            sigma_id=rule.sigma_id,
            correlation_type=spec.kind,
            group_by=firing.group_values,
            metric=firing.metric,
            condition=spec.condition,
            timespan=spec.timespan,
            window=[firing.window_start.isoformat(), firing.window_end.isoformat()],
            event_ids=[m.event_id for m in firing.members[:100]],
            sources=_sources_of_events(firing),
        )
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
            event_id=self._chained_id(rule, firing),
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
            if identity not in self.queued and not correlation_exists(identity):
                # the firing was decided but its alert never committed (a worker died)
                self._correlation_alert(rule, fold.full(), event)
            pending = self.pending_folds[identity] = (rule, [], set())
        pending[1].append((fold.member.event_id, fold.member.time))
        source_name = self._source(event.source_id)[0] if event.source_id is not None else None
        if source_name:
            pending[2].add(source_name)

    def flush_folds(self) -> None:
        folds = []
        for identity, (rule, links, sources) in self.pending_folds.items():
            correlation_id = correlation_id_of(identity)
            added = sum(
                link_events(correlation_id, links[i : i + FOLD_CHUNK])
                for i in range(0, len(links), FOLD_CHUNK)
            )
            if added:
                at = max(t for _, t in links)
                folds.append(FoldedHits(correlation_id, added, at, sources=tuple(sorted(sources))))
                self.counts.folded(rule.id, added)
        self.pending_folds.clear()
        if folds:
            alert_desk().fold_hits(folds)

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

    def _team_for_links(self, links: list[Link]) -> Any:
        if links:
            source_id = source_of_event(*links[0])
            if source_id is not None:
                return self._source(source_id)[1]
        return default_team_id()

    # -- alerts -------------------------------------------------------------------

    def _raise_or_fold(
        self,
        rule: CompiledRule,
        *,
        group_key: str,
        at: datetime,
        links: list[Link],
        identity: str,
        window: tuple[datetime, datetime],
        team: Any,
        details: AlertDetails,
        metric: float,
        confidence: float = 1.0,
        level: str | None = None,
        title: str | None = None,
    ) -> None:
        mode = rule.suppression_mode
        with transaction.atomic(savepoint=False):
            if mode != SuppressionMode.NONE:
                if not self.dry:
                    lock_key(rule.id, group_key)
                if self._folded(rule, mode, group_key, at, links, metric, details):
                    return
                identity = f"{rule.id}:{group_key}:{identity}"
            correlation = NewCorrelation(
                identity=identity,
                rule_id=rule.id,
                name=title or rule.title,
                window=window,
                links=links,
                confidence=confidence,
                metadata={k: v for k, v in details.items() if k != "event_ids"},
                group_key=group_key,
                raised_at=at,
            )
            alert = RaisedAlert(
                alert_id=alert_id_of(identity),
                title=title or rule.title,
                level=level or rule.level,
                team_id=team,
                triggered_at=at,
                details=AlertDetails(**details, techniques=rule.techniques),
                description=rule.description,
                rule_id=uuid.UUID(rule.id),
                correlation_id=correlation.id,
                group_key=group_key,
                count=max(1, len(links)),
            )
            if mode == SuppressionMode.NONE:
                self._queue(_Raise(rule.id, correlation, alert))
            else:  # the next hit of this key must find it: raised now, under the key's lock
                self._raise([_Raise(rule.id, correlation, alert)])

    def _queue(self, item: _Raise) -> None:
        """Keep a new alert for the end of the batch (``flush_raises``), where the batch's
        alerts are written together. A repeat of a queued firing is not a new alert."""
        identity = item.correlation.identity
        if identity in self.queued:
            self.raised.add(item.alert.alert_id, item.correlation.id, False)
            return
        self.queued[identity] = item
        if len(self.queued) >= RAISE_CHUNK:  # what a batch holds in memory stays bounded
            self.flush_raises()

    def flush_raises(self) -> None:
        items = list(self.queued.values())
        self.queued.clear()
        for start in range(0, len(items), RAISE_CHUNK):
            self._raise(items[start : start + RAISE_CHUNK])

    def _raise(self, items: list[_Raise]) -> None:
        """Record the firings and hand their alerts to case work, a batch at a time."""
        if not items:
            return
        correlation_rows([item.correlation for item in items])
        alerts = [item.alert for item in items]
        created = alert_desk().raise_alerts(alerts, audit=self.audit)
        for item, new in zip(items, created, strict=True):
            self.raised.add(item.alert.alert_id, item.correlation.id, new)
            if new:
                self.counts.raised(item.rule_id, item.alert.triggered_at)
                indicator = item.alert.details.get("indicator")
                if indicator:
                    self.ioc_alerts.append((str(indicator["id"]), str(item.alert.alert_id)))

    def finish(self, now: float | None = None) -> int:
        """The end of a run: the queued alerts, the folds, then the windows whose time is
        up (``now``: the clock to decide them by) and what those raise and fold."""
        self.flush_raises()
        self.flush_folds()
        closed = self.close_due_windows(now)
        self.flush_raises()
        self.flush_folds()
        return closed

    def _folded(
        self,
        rule: CompiledRule,
        mode: str,
        group_key: str,
        at: datetime,
        links: list[Link],
        metric: float,
        details: AlertDetails,
    ) -> bool:
        """Fold the hit into the alert its rule and key already have, if suppression
        says so; False: raise a new alert."""
        target = fold_target(
            rule_id=rule.id,
            group_key=group_key,
            mode=mode,
            at=at,
            window_seconds=rule.suppression_window,
        )
        if target is None:
            return False
        existing = target.correlation
        count_before = max(1, existing.event_count)  # the alert's count (links, at least 1)
        added = link_events(existing.pk, links)
        self.raised.add(target.alert_id, existing.pk, False)
        if added:
            rises = mode == SuppressionMode.RISES and metric > count_before
            sources = tuple(details.get("sources") or ())
            fold = FoldedHits(existing.pk, added, at, suppressed=not rises, sources=sources)
            alert_desk().fold_hits([fold])
            if not rises:
                self.counts.folded(rule.id, added)
        return True


def _sources_of_events(firing: Firing) -> list[str]:
    """Names of the sources behind a correlation's events (searched within its window,
    so only the partitions that can hold them are read)."""
    ids = [m.event_id for m in firing.members[:MAX_LINKED]]
    return source_names_of_events(ids, firing.window_start, firing.window_end)


def _confidence(condition: dict[str, float], metric: float) -> float:
    """How far past its threshold a correlation fired: 0.5 at the threshold, towards 1."""
    thresholds = [t for op, t in condition.items() if op in ("gt", "gte") and t > 0]
    if not thresholds:
        return 1.0
    return round(min(1.0, 0.5 + 0.5 * (metric - thresholds[0]) / thresholds[0]), 3)


def _entities(doc: dict[str, Any]) -> dict[str, Any]:
    """The entities an analyst pivots on, for the alert's details."""
    found = {
        "source.ip": get(doc, "source.ip"),
        "destination.ip": get(doc, "destination.ip"),
        "user.name": get(doc, "user.name") or doc.get("User") or doc.get("TargetUserName"),
        "host.name": get(doc, "host.name") or doc.get("Computer"),
        "process.executable": get(doc, "process.executable") or doc.get("Image"),
    }
    return {k: v for k, v in found.items() if v not in (None, "")}
