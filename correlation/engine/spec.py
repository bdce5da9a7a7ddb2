"""A Sigma correlation rule as the engine runs it."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaRuleReference,
)

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "neq": operator.ne,
}
# Conditions that more events can only make true (decided as events arrive); the others
# (``lt``, ``lte``, ``eq``, ``neq``, or a ``not`` in a temporal condition) are decided when
# the window closes.
MONOTONE = frozenset({"gt", "gte"})


@dataclass
class CorrelationSpec:
    rule_id: str
    kind: str  # event_count, value_count, temporal, temporal_ordered, value_sum/avg/percentile
    rules: list[str]  # referenced rule ids, in the rule's order
    group_by: list[str]
    timespan: int  # seconds
    condition: dict[str, float] = field(default_factory=dict)  # operator -> threshold
    value_fields: list[str] = field(default_factory=list)
    percentile: int | None = None
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)  # alias -> rule id -> field
    expression: Any = None  # a parsed temporal boolean condition, or None
    expression_names: dict[str, str] = field(default_factory=dict)  # name in expression -> id
    # socapp's extension for event_count: the hits must also be evenly spaced, the
    # intervals between them varying by at most this fraction of their mean (beacons)
    max_jitter: float | None = None

    @property
    def decided_at_close(self) -> bool:
        if self.expression is not None:
            return _has_not(self.expression)
        return any(op not in MONOTONE for op in self.condition)

    def holds(self, metric: float) -> bool:
        return all(OPERATORS[op](metric, threshold) for op, threshold in self.condition.items())

    def group_field(self, group: str, rule_id: str) -> str:
        """The event field behind a group-by name for hits of ``rule_id`` (aliases)."""
        return self.aliases.get(group, {}).get(rule_id, group)


def _has_not(node: Any) -> bool:
    if isinstance(node, CorrelationConditionNOT):
        return True
    return any(_has_not(arg) for arg in getattr(node, "args", ()) or ())


def evaluate_expression(node: Any, present: set[str], names: dict[str, str]) -> bool:
    """A temporal boolean condition over the set of rule ids seen in the window."""
    if isinstance(node, SigmaRuleReference):
        return names.get(node.reference, node.reference) in present
    if isinstance(node, CorrelationConditionNOT):
        return not evaluate_expression(node.args[0], present, names)
    if isinstance(node, CorrelationConditionAND):
        return all(evaluate_expression(a, present, names) for a in node.args)
    if isinstance(node, CorrelationConditionOR):
        return any(evaluate_expression(a, present, names) for a in node.args)
    raise ValueError(f"unknown temporal condition element {type(node).__name__}")
