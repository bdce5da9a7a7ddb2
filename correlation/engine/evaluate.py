"""Single-event matching: every event of a batch against the rules its logsource allows."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..sigma.values import EventView
from .ruleset import CompiledRule, RuleSet


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
class Evaluation:
    hits: list[Hit] = field(default_factory=list)
    tallies: dict[str, RuleTally] = field(default_factory=lambda: defaultdict(RuleTally))


def evaluate(ruleset: RuleSet, events: list[StoredEvent]) -> Evaluation:
    """The hits of ``events`` against ``ruleset``, with per-rule counts and time.

    A rule that raises on an event (a bug, a value it cannot compare) counts an error and
    the event moves on to the next rule: one bad rule never stops the others.
    """
    result = Evaluation()
    tallies = result.tallies
    clock = time.perf_counter
    for event in events:
        view = EventView(event.doc, event.raw)
        seen: set[str] = set()
        for rule, predicate in ruleset.candidates(view):
            tally = tallies[rule.id]
            tally.evaluations += 1
            started = clock()
            try:
                matched = rule.id not in seen and predicate(view) and not rule.excepted(view)
            except Exception as exc:
                tally.errors += 1
                tally.last_error = f"{type(exc).__name__}: {exc}"[:500]
                matched = False
            tally.time_spent += clock() - started
            if matched:
                seen.add(rule.id)  # two variants of one rule matching is still one hit
                tally.hits += 1
                result.hits.append(Hit(rule, event))
    return result
