"""What one rule text may hold, checked before any of it is built.

Rules come from people (the editor, the API, ``POST /api/v1/rules/test/`` which every role
may call) and from files (``import_sigma``, the rule pack), so reading one must cost a
small, bounded amount of work whatever it holds. Two passes guard that:

1. ``scan_yaml``: the text's size, then its YAML *event stream* (no node built, no alias
   followed): anchors and aliases are refused outright — an alias chain ("billion laughs")
   is exponential for anything that walks the document as a tree, and SigmaHQ's 3,983
   files use none — and the documents, nesting depth and scalars are counted, stopping at
   the first limit passed.
2. ``detection_problems`` / ``reference_problems``: on the parsed (small) data, before
   pySigma builds the rule: how many values the detection stands for once modifiers expand
   them (``windash`` makes up to 125 of one value), the condition's size and nesting
   (pySigma parses it recursively), how many rules a correlation or filter names.

Each limit is a setting (``RULE_MAX_*``), named in the error a user sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

# libyaml when present: the same events as the pure-Python parser, ten times faster.
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Modifiers that turn one value into several (pySigma's own definitions).
WINDASH_VARIANTS, WINDASH_MAX_DASHES = 5, 3
BASE64OFFSET_VARIANTS = 3
_WINDASH_DASH = re.compile(r"\B[-/]\b")  # where pySigma's windash expands a dash
_PLACEHOLDER = re.compile(r"%(\w+)%")
_CONDITION_TOKEN = re.compile(r"\(|\)|[^\s()]+")


@dataclass(frozen=True)
class RuleLimits:
    max_bytes: int
    max_documents: int
    max_depth: int
    max_values: int
    max_references: int
    max_condition_tokens: int

    @classmethod
    def from_settings(cls) -> RuleLimits:
        from django.conf import settings

        return cls(
            max_bytes=settings.RULE_MAX_BYTES,
            max_documents=settings.RULE_MAX_DOCUMENTS,
            max_depth=settings.RULE_MAX_DEPTH,
            max_values=settings.RULE_MAX_VALUES,
            max_references=settings.RULE_MAX_REFERENCES,
            max_condition_tokens=settings.RULE_MAX_CONDITION_TOKENS,
        )


class LimitExceeded(ValueError):
    """The text passes a limit (or cannot be read): where, and which setting."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def size_problem(size: int, limits: RuleLimits) -> str | None:
    if size > limits.max_bytes:
        return f"the rule text is {size:,} bytes, more than RULE_MAX_BYTES ({limits.max_bytes:,})"
    return None


def _line(event: yaml.Event) -> int:
    mark = event.start_mark  # set on every event the parser makes
    return mark.line + 1 if mark is not None else 1


def scan_yaml(text: str, limits: RuleLimits) -> int:
    """Read ``text``'s YAML events once and raise LimitExceeded at the first anchor, alias
    or limit passed. Returns the number of events read (at most a few per line, so the
    work is bounded by RULE_MAX_BYTES). yaml.YAMLError passes through."""
    # a character is at least one byte: a text too long in characters is too long
    problem = size_problem(len(text), limits)
    if problem is None:
        try:
            problem = size_problem(len(text.encode("utf-8")), limits)
        except UnicodeEncodeError as exc:
            line = text.count("\n", 0, exc.start) + 1
            raise LimitExceeded(line, "not valid YAML: a character is not Unicode") from None
    if problem:
        raise LimitExceeded(None, problem)
    events = documents = depth = scalars = 0
    for event in yaml.parse(text, Loader=Loader):
        events += 1
        if isinstance(event, yaml.AliasEvent):
            raise LimitExceeded(
                _line(event),
                f"YAML aliases (*{event.anchor}) are not accepted in rules: write the value out",
            )
        if anchor := getattr(event, "anchor", None):
            raise LimitExceeded(
                _line(event),
                f"YAML anchors (&{anchor}) are not accepted in rules: write the value out",
            )
        if isinstance(event, yaml.DocumentStartEvent):
            documents, scalars = documents + 1, 0
            if documents > limits.max_documents:
                raise LimitExceeded(
                    _line(event),
                    f"more than RULE_MAX_DOCUMENTS ({limits.max_documents}) documents in one text",
                )
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.max_depth:
                raise LimitExceeded(
                    _line(event), f"nested deeper than RULE_MAX_DEPTH ({limits.max_depth}) levels"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent):
            scalars += 1
            if scalars > limits.max_values:
                raise LimitExceeded(
                    _line(event),
                    f"a document holds more than RULE_MAX_VALUES ({limits.max_values:,}) values",
                )
    return events


# ---- on the parsed data, before pySigma builds the rule ------------------------------------

Problem = tuple[tuple[str, ...], str]  # (key path for the line, message)


def _fan_out(modifiers: list[str], value: Any, placeholders: dict[str, Any]) -> int:
    """How many values pySigma (and our ``|expand``) make of ``value`` under ``modifiers``."""
    count = 1
    if "base64offset" in modifiers:
        count *= BASE64OFFSET_VARIANTS
    if "windash" in modifiers and isinstance(value, str):
        dashes = min(WINDASH_MAX_DASHES, len(_WINDASH_DASH.findall(value)))
        count *= WINDASH_VARIANTS**dashes
    if "expand" in modifiers and isinstance(value, str):
        for name in _PLACEHOLDER.findall(value):
            defined = placeholders.get(name)
            count *= len(defined) if isinstance(defined, list) and defined else 1
    return count


def _values_of(node: Any, modifiers: list[str], placeholders: dict[str, Any]) -> int:
    if isinstance(node, dict):
        return sum(
            _values_of(value, str(key).split("|")[1:], placeholders) for key, value in node.items()
        )
    if isinstance(node, list):
        return sum(_values_of(item, modifiers, placeholders) for item in node)
    return _fan_out(modifiers, node, placeholders)


def condition_problem(condition: str, limits: RuleLimits) -> str | None:
    """Too many tokens, or nested too deep: pySigma's condition parser recurses once per
    parenthesis and per ``not``, and its cost grows with every token."""
    tokens = _CONDITION_TOKEN.findall(condition)
    if len(tokens) > limits.max_condition_tokens:
        return (
            f"the condition has {len(tokens):,} words and parentheses, more than "
            f"RULE_MAX_CONDITION_TOKENS ({limits.max_condition_tokens})"
        )
    depth = deepest = nots = most_nots = 0
    for word in tokens:
        if word == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif word == ")":
            depth -= 1
        nots = nots + 1 if word.lower() == "not" else 0
        most_nots = max(most_nots, nots)
    if deepest + most_nots > limits.max_depth:
        return f"the condition is nested deeper than RULE_MAX_DEPTH ({limits.max_depth}) levels"
    return None


def detection_problems(
    detection: Any, limits: RuleLimits, placeholders: dict[str, Any]
) -> list[Problem]:
    if not isinstance(detection, dict):
        return []
    problems: list[Problem] = []
    conditions = detection.get("condition")
    listed = isinstance(conditions, list)
    for index, condition in enumerate(conditions if isinstance(conditions, list) else [conditions]):
        if isinstance(condition, str) and (message := condition_problem(condition, limits)):
            at = (str(index),) if listed else ()
            problems.append((("detection", "condition", *at), message))
    total = 0
    for name, selection in detection.items():
        if name == "condition":
            continue
        total += _values_of(selection, [], placeholders)
        if total > limits.max_values:
            problems.append(
                (
                    ("detection", str(name)),
                    f"the detection stands for more than RULE_MAX_VALUES ({limits.max_values:,}) "
                    "values once modifiers expand them (windash makes up to 125 of one value, "
                    "base64offset 3, expand one per placeholder value)",
                )
            )
            break
    return problems


def reference_problems(data: dict[str, Any], limits: RuleLimits) -> list[Problem]:
    """A correlation or filter naming more rules than RULE_MAX_REFERENCES (each is looked up)."""
    problems: list[Problem] = []
    for section in ("correlation", "filter"):
        block = data.get(section)
        rules = block.get("rules") if isinstance(block, dict) else None
        if isinstance(rules, list) and len(rules) > limits.max_references:
            problems.append(
                (
                    (section, "rules"),
                    f"names {len(rules):,} rules, more than RULE_MAX_REFERENCES "
                    f"({limits.max_references})",
                )
            )
    return problems
