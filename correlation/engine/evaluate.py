"""Single-event matching: every event of a batch against the rules its logsource allows
(those of them the prefilter says could match it)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..sigma.values import EventView
from .ruleset import CandidateGroup, CompiledRule, RuleSet


@dataclass
class StoredEvent:
    """What the engine needs of a stored event."""

    event_id: str
    event_time: datetime
    source_id: Any
    doc: dict[str, Any]
    raw: str = ""


@dataclass
class Hit:
    rule: CompiledRule
    event: StoredEvent
    fields: dict[str, Any] | None = None  # a correlation hit's group-by values (chaining)


@dataclass
class RuleTally:
    evaluations: int = 0
    errors: int = 0
    time_spent: float = 0.0
    hits: int = 0
    last_error: str = ""


@dataclass
class RuleError:
    """A rule that raised on an event (a poison event): it is quarantined with the error."""

    rule_id: str
    event: StoredEvent
    error: str


@dataclass
class Evaluation:
    hits: list[Hit] = field(default_factory=list)
    tallies: dict[str, RuleTally] = field(default_factory=lambda: defaultdict(RuleTally))
    errors: list[RuleError] = field(default_factory=list)


class OverBudget(Exception):
    """The batch ran past its time budget (``CORRELATION_BATCH_BUDGET_SECONDS``)."""

    def __init__(self, budget: Budget) -> None:
        super().__init__(f"over the {budget.seconds} s correlation budget")
        self.budget = budget


@dataclass
class Budget:
    """A batch's time budget and where its time went, per rule (matching a rule, and
    feeding a correlation rule's windows and raising its alerts)."""

    seconds: float | None = None
    started: float = field(default_factory=time.perf_counter)
    spent: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def check(self) -> None:
        if self.seconds is not None and time.perf_counter() - self.started > self.seconds:
            raise OverBudget(self)

    def heaviest(self) -> str | None:
        """The rule that took the most time, if any took some."""
        return max(self.spent, key=self.spent.__getitem__) if self.spent else None


def evaluate(
    ruleset: RuleSet, events: list[StoredEvent], budget: Budget | None = None
) -> Evaluation:
    """The hits of ``events`` against ``ruleset``, with per-rule counts and time.

    A rule that raises on an event (a bug, a value it cannot compare) counts an error, the
    pair is listed in ``errors`` (to be quarantined) and the event moves on to the next
    rule: one bad rule or event never stops the others. With a ``budget``, raises
    OverBudget between two events once it is spent.

    A rule counts as evaluated on every event its logsource allows, whether or not the
    prefilter let its predicate run (one it skipped could not have matched).
    """
    result = Evaluation()
    tallies = result.tallies
    clock = time.perf_counter
    spent = budget.spent if budget is not None else None
    met: Counter[CandidateGroup] = Counter()
    for event in events:
        view = EventView(event.doc, event.raw)
        seen: set[str] = set()
        group = ruleset.candidates(view)
        met[group] += 1
        for rule, predicate in group.select(view):
            tally = tallies[rule.id]
            started = clock()
            try:
                matched = rule.id not in seen and predicate(view) and not rule.excepted(view)
            except Exception as exc:
                tally.errors += 1
                tally.last_error = f"{type(exc).__name__}: {exc}"[:500]
                result.errors.append(RuleError(rule.id, event, tally.last_error))
                matched = False
            took = clock() - started
            tally.time_spent += took
            if spent is not None:
                spent[rule.id] += took
            if matched:
                seen.add(rule.id)  # two variants of one rule matching is still one hit
                tally.hits += 1
                result.hits.append(Hit(rule, event))
        if budget is not None:
            budget.check()
    for group, count in met.items():
        for rule, _ in group.pairs:
            tallies[rule.id].evaluations += count
    return result
