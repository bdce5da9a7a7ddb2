"""Compile a Sigma detection (pySigma's condition tree) into one Python predicate.

pySigma resolves the condition grammar (``1 of selection_*``, ``all of them``, ``not``,
precedence) and applies the value modifiers; what it hands us is a tree of AND/OR/NOT over
``field = value`` and keyword leaves, which we turn into closures. Lists of plain strings
on one field (``Image|endswith: [...]``, the commonest shape in SigmaHQ) collapse into a
single test over a tuple or a set, so a rule with fifty alternatives costs one field lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaDetections, SigmaRule
from sigma.types import SigmaCasedString, SigmaString

from .values import (
    CompileError,
    EventView,
    Predicate,
    all_of,
    any_of,
    field_predicate,
    keyword_predicate,
    keywords_test,
    plain_keyword,
    text_test,
)

FieldMap = Callable[[str], str]


def _identity(name: str) -> str:
    return name


def compile_rule(rule: SigmaRule, field_map: FieldMap = _identity) -> Predicate:
    """The rule's detection as a predicate; a list of conditions means any of them."""
    return compile_detections(rule.detection, field_map)


def compile_detections(detections: SigmaDetections, field_map: FieldMap = _identity) -> Predicate:
    trees = [condition.parse(postprocess=True) for condition in detections.parsed_condition]
    predicates = [compile_tree(tree, field_map) for tree in trees]
    return any_of(predicates) if predicates else (lambda view: False)


def compile_tree(node: Any, field_map: FieldMap) -> Predicate:
    if node is None:  # a detection emptied by processing: it matches nothing
        return lambda view: False
    if isinstance(node, ConditionNOT):
        inner = compile_tree(node.args[0], field_map)
        return lambda view: not inner(view)
    if isinstance(node, ConditionAND):
        return all_of(compile_tree(arg, field_map) for arg in node.args)
    if isinstance(node, ConditionOR):
        return any_of(_merged_alternatives(node.args, field_map))
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return field_predicate(field_map(node.field), node.value)
    if isinstance(node, ConditionValueExpression):
        return keyword_predicate(node.value)
    raise CompileError(f"condition element {type(node).__name__} is not supported")


def _merged_alternatives(args: list[Any], field_map: FieldMap) -> list[Predicate]:
    """OR's children, with plain-string tests on the same field grouped into one test,
    and plain keywords grouped into one search of the event's text."""
    groups: dict[tuple[str, bool], dict[str, list[Any]]] = {}
    keywords: list[str] = []
    others: list[Predicate] = []
    for arg in args:
        value = getattr(arg, "value", None)
        if (
            isinstance(arg, ConditionFieldEqualsValueExpression)
            and isinstance(value, SigmaString)
            and type(value) in (SigmaString, SigmaCasedString)
            and not value.contains_placeholder()
        ):
            kind, needle = text_test(value, lower=type(value) is SigmaString)
            if kind in ("eq", "contains", "startswith", "endswith"):
                key = (field_map(arg.field), type(value) is SigmaCasedString)
                groups.setdefault(key, {}).setdefault(kind, []).append(needle)
                continue
        if (
            isinstance(arg, ConditionValueExpression)
            and type(value) is SigmaString
            and not value.contains_placeholder()
        ):
            needle = plain_keyword(value)
            if needle is not None:
                keywords.append(needle)
                continue
        others.append(compile_tree(arg, field_map))
    if keywords:
        others.insert(0, keywords_test(*keywords))
    for (field, cased), tests in groups.items():
        others.insert(0, _grouped_test(field, cased, tests))
    return others


def _grouped_test(field: str, cased: bool, tests: dict[str, list[Any]]) -> Predicate:
    equals = frozenset(tests.get("eq", ()))
    starts = tuple(tests.get("startswith", ()))
    ends = tuple(tests.get("endswith", ()))
    contains = tuple(tests.get("contains", ()))

    def test_text(text: str) -> bool:
        if text in equals:
            return True
        if starts and text.startswith(starts):
            return True
        if ends and text.endswith(ends):
            return True
        for needle in contains:  # noqa: SIM110 - no generator on the hot path
            if needle in text:
                return True
        return False

    def test(view: EventView) -> bool:
        for text in view.strings(field) if cased else view.lowered(field):
            if test_text(text):
                return True
        return False

    return test


def detection_fields(rule: SigmaRule) -> set[str]:
    """Every field name the rule's detections test (as the rule writes them)."""
    found: set[str] = set()
    pending: list[SigmaDetection | SigmaDetectionItem] = list(rule.detection.detections.values())
    while pending:
        item = pending.pop()
        if isinstance(item, SigmaDetection):
            pending.extend(item.detection_items)
        elif item.field:
            found.add(item.field)
    return found
