"""Sigma detections as PostgreSQL conditions on the events table, for backtests.

The live engine decides matches; this module only narrows what a backtest reads. Every
condition it writes is a *superset* of the matcher's answer, so the same matcher then
finishes the job on the rows that come back and a backtest agrees with the live engine by
construction. What cannot be said exactly and safely in SQL becomes ``TRUE``: negations,
keywords, regular expressions, CIDR, modifiers that transform values. What is pushed down:

- the logsource's variants (Windows channel and event id, ``event.dataset``, ...);
- plain string tests — equals, contains, starts with, ends with, case-insensitive unless
  ``|cased`` — and numbers, joined by the rule's own ANDs and ORs.

A field is read as the matcher reads it (``EventView.lookup``): a top-level key first,
then the dotted path. A field holding a JSON array passes (the matcher looks inside it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
)
from sigma.rule import SigmaRule
from sigma.types import SigmaCasedString, SigmaNumber, SigmaString

from .logsources import PRODUCT_FIELD, Variant, resolve
from .values import text_test

TRUE = "TRUE"
COLUMN = "normalized_data"


@dataclass
class Condition:
    """A WHERE fragment with its %s parameters."""

    sql: str = TRUE
    params: list[Any] = field(default_factory=list)

    @property
    def is_true(self) -> bool:
        return self.sql == TRUE


def _json_path(name: str) -> tuple[str, list[Any]]:
    """The jsonb value of ``name`` the way EventView.lookup finds it."""
    if "." not in name:
        return f"({COLUMN} -> %s)", [name]
    return f"COALESCE({COLUMN} -> %s, {COLUMN} #> %s)", [name, name.split(".")]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


LIKE_SHAPES = {
    "eq": "{}",
    "contains": "%{}%",
    "startswith": "{}%",
    "endswith": "%{}",
}


def _leaf(name: str, value: Any) -> Condition:
    path, params = _json_path(name)
    if type(value) is SigmaNumber and isinstance(value.number, int):
        # a JSON number must equal it; a string ("4625") is left to the matcher
        sql = (
            f"({path} IS NOT NULL AND (jsonb_typeof({path}) <> 'number' OR ({path})::numeric = %s))"
        )
        return Condition(sql, [*params, *params, *params, value.number])
    if type(value) not in (SigmaString, SigmaCasedString) or value.contains_placeholder():
        return Condition()
    cased = type(value) is SigmaCasedString
    kind, needle = text_test(value, lower=not cased)
    if kind not in LIKE_SHAPES or not needle.isascii():
        # (non-ASCII: PostgreSQL's lower() and Python's may disagree; leave it to Python)
        return Condition()
    text = f"({path} #>> '{{}}')" if cased else f"lower({path} #>> '{{}}')"
    operator = "=" if kind == "eq" else "LIKE"
    pattern = needle if kind == "eq" else LIKE_SHAPES[kind].format(_like_escape(needle))
    sql = f"({path} IS NOT NULL AND (jsonb_typeof({path}) = 'array' OR {text} {operator} %s))"
    return Condition(sql, [*params, *params, *params, pattern])


def join_conditions(parts: list[Condition], operator: str) -> Condition:
    if operator == "OR" and any(p.is_true for p in parts):
        return Condition()
    kept = [p for p in parts if not p.is_true]
    if not kept:
        return Condition()
    if len(kept) == 1:
        return kept[0]
    return Condition(
        "(" + f" {operator} ".join(p.sql for p in kept) + ")",
        [param for p in kept for param in p.params],
    )


def tree_condition(node: Any, variant: Variant) -> Condition:
    """A superset condition for one pySigma condition tree under one logsource variant."""
    if node is None:
        return Condition("FALSE")
    if isinstance(node, ConditionAND):
        return join_conditions([tree_condition(a, variant) for a in node.args], "AND")
    if isinstance(node, ConditionOR):
        return join_conditions([tree_condition(a, variant) for a in node.args], "OR")
    if isinstance(node, ConditionNOT):
        return Condition()
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _leaf(variant.map_field(node.field), node.value)
    return Condition()  # keywords and anything else: the matcher decides


def variant_condition(variant: Variant) -> Condition:
    """The logsource's fixed values (what the live index routes on)."""
    parts = []
    for name, values in variant.where:
        if name == PRODUCT_FIELD:
            continue  # computed per event (event.module, dataset root, ...): not pushed down
        path, params = _json_path(name)
        first = (
            f"(CASE WHEN jsonb_typeof({path}) = 'array' "
            f"THEN {path} ->> 0 ELSE {path} #>> '{{}}' END)"
        )
        wanted = [str(v).lower() for v in values]
        parts.append(
            Condition(
                f"lower({first}) = ANY(%s)",
                [*params, *params, *params, wanted],
            )
        )
    return join_conditions(parts, "AND")


def rule_condition(rule: SigmaRule) -> Condition:
    """Events that may match ``rule``: OR over its logsource variants and conditions."""
    variants = resolve(rule.logsource.to_dict() if rule.logsource else {}) or [Variant(())]
    trees = [c.parse(postprocess=True) for c in rule.detection.parsed_condition]
    per_variant = []
    for variant in variants:
        detection = join_conditions([tree_condition(tree, variant) for tree in trees], "OR")
        per_variant.append(join_conditions([variant_condition(variant), detection], "AND"))
    return join_conditions(per_variant, "OR")
