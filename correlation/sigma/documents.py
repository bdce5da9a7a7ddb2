"""Reading Sigma YAML: detection rules, correlation rules and filters, validated by pySigma,
with every problem reported at the line of the file that causes it. The text is checked
against the rule limits (``limits``: size, anchors and aliases, depth, values) before any
of it is built, so a hostile paste costs a bounded amount of work."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from sigma import exceptions as sigma_errors
from sigma.correlations import SigmaCorrelationRule
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

from .limits import (
    LimitExceeded,
    Loader,
    RuleLimits,
    detection_problems,
    reference_problems,
    scan_yaml,
)
from .regex import RULE_POLICY

DocumentKind = Literal["detection", "correlation", "filter"]

# Sigma correlation operators; pySigma accepts one per condition, the specification shows
# ranges (``gt`` + ``lte``), so we check each operator on its own and keep them all.
CORRELATION_OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq")


@dataclass(frozen=True)
class RuleProblem:
    """Why a document cannot be used, and where (1-based line in the submitted text)."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class RuleInvalid(ValueError):
    def __init__(self, problems: list[RuleProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass
class SigmaDocument:
    """One YAML document of a rule file, parsed."""

    kind: DocumentKind
    data: dict[str, Any]
    text: str  # the document's own YAML (what a rule version stores)
    first_line: int  # where the document starts in the submitted text (1-based)
    sigma: SigmaRule | SigmaCorrelationRule | SigmaFilter
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)  # key path -> line

    @property
    def sigma_id(self) -> str | None:
        value = self.data.get("id")
        return str(value) if value else None

    @property
    def name(self) -> str | None:
        value = self.data.get("name")
        return str(value) if value else None

    @property
    def title(self) -> str:
        return str(self.data.get("title") or "")

    def line_of(self, *path: str) -> int:
        """The line of ``path`` (a key path), or of its closest existing parent."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.first_line

    def problem(self, message: str, *path: str) -> RuleProblem:
        return RuleProblem(self.line_of(*path), message)


def _key_lines(node: yaml.Node, prefix: tuple[str, ...], into: dict[tuple[str, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, str(key.value))
            into[path] = key.start_mark.line + 1
            _key_lines(value, path, into)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, str(index))
            into[path] = item.start_mark.line + 1
            _key_lines(item, path, into)
    elif isinstance(node, yaml.ScalarNode) and prefix:
        # values too, so an error quoting a value ("regular expression '(('") finds its line
        into.setdefault((*prefix, "=" + str(node.value)), node.start_mark.line + 1)


def _kind_of(data: dict[str, Any]) -> DocumentKind | None:
    if "correlation" in data:
        return "correlation"
    if "filter" in data:
        return "filter"
    if "detection" in data:
        return "detection"
    return None


def _load(text: str) -> list[tuple[yaml.Node, Any]]:
    """Each document's node (for the lines) and data, composed and constructed once."""
    loader = Loader(text)
    pairs = []
    try:
        while loader.check_node():
            node = loader.get_node()
            data = loader.construct_document(node)
            if node is not None and data is not None:
                pairs.append((node, data))
    finally:
        loader.dispose()
    return pairs


def parse_documents(text: str, limits: RuleLimits | None = None) -> list[SigmaDocument]:
    """Every Sigma document in ``text``; raises ``RuleInvalid`` listing all problems.
    ``limits``: the rule limits (default: the RULE_MAX_* settings)."""
    limits = limits or RuleLimits.from_settings()
    try:
        scan_yaml(text, limits)  # before anything is built: anchors, aliases, limits
        pairs = _load(text)
    except LimitExceeded as exc:
        raise RuleInvalid([RuleProblem(exc.line, exc.message)]) from None
    except ValueError as exc:
        # what the constructor cannot make of a scalar: an integer of more than 4,300
        # digits (Python's own limit) is the one known; the advice after ";" is Python's
        reason = str(exc).split(";")[0]
        raise RuleInvalid([RuleProblem(None, f"a value cannot be read: {reason}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise RuleInvalid([RuleProblem(line, f"not valid YAML: {reason}")]) from None
    text_lines = text.splitlines(keepends=True)
    documents: list[SigmaDocument] = []
    problems: list[RuleProblem] = []
    for index, (node, data) in enumerate(pairs):
        first = node.start_mark.line + 1
        if not isinstance(data, dict):
            problems.append(RuleProblem(first, "a Sigma document must be a mapping"))
            continue
        end = pairs[index + 1][0].start_mark.line if index + 1 < len(pairs) else len(text_lines)
        own_text = "".join(text_lines[node.start_mark.line : end]).rstrip("-\n ") + "\n"
        lines: dict[tuple[str, ...], int] = {}
        _key_lines(node, (), lines)
        try:
            documents.append(_build(data, own_text, first, lines, limits))
        except RuleInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise RuleInvalid(problems)
    if not documents:
        raise RuleInvalid([RuleProblem(1, "no Sigma rule in the text")])
    return documents


def _build(
    data: dict[str, Any],
    text: str,
    first: int,
    lines: dict[tuple[str, ...], int],
    limits: RuleLimits,
) -> SigmaDocument:
    kind = _kind_of(data)
    # A shell to report problems against: its ``sigma`` is set once the document parses.
    shell = SigmaDocument(kind or "detection", data, text, first, sigma=None, lines=lines)  # type: ignore[arg-type]
    if kind is None:
        raise RuleInvalid([shell.problem("no 'detection', 'correlation' or 'filter' section")])
    if "action" in data:
        raise RuleInvalid([shell.problem("Sigma 'action' documents are not supported", "action")])
    _check_limits(shell, limits)
    if kind == "correlation":
        data = _with_single_condition(data)
    builder: dict[str, type[SigmaRule | SigmaCorrelationRule | SigmaFilter]] = {
        "detection": SigmaRule,
        "correlation": SigmaCorrelationRule,
        "filter": SigmaFilter,
    }
    try:
        parsed = builder[kind].from_dict(data, collect_errors=True, policy=RULE_POLICY)
    except sigma_errors.SigmaError as exc:
        raise RuleInvalid([_locate(shell, exc)]) from None
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise RuleInvalid([shell.problem(f"malformed rule: {exc}")]) from None
    errors = list(getattr(parsed, "errors", []) or [])
    if kind == "correlation":
        errors.extend(_range_errors(shell))
    if errors:
        raise RuleInvalid([_locate(shell, err) for err in errors])
    shell.sigma = parsed
    if kind == "detection":
        _check_condition(shell)
    return shell


def _check_limits(doc: SigmaDocument, limits: RuleLimits) -> None:
    """What pySigma would expand or parse recursively, bounded before it does."""
    from django.conf import settings

    placeholders = getattr(settings, "SIGMA_PLACEHOLDERS", {}) or {}
    found = reference_problems(doc.data, limits)
    for section in ("detection", "filter"):
        block = doc.data.get(section)
        if isinstance(block, dict):
            # a filter's selections sit beside its ``rules``, like a detection's
            selections = {k: v for k, v in block.items() if k != "rules"}
            found += [
                ((section, *path[1:]), message)
                for path, message in detection_problems(selections, limits, placeholders)
            ]
    if found:
        raise RuleInvalid([doc.problem(message, *path) for path, message in found])


def _with_single_condition(data: dict[str, Any]) -> dict[str, Any]:
    """A copy whose correlation condition has at most one operator, for pySigma."""
    correlation = data.get("correlation")
    if not isinstance(correlation, dict) or not isinstance(correlation.get("condition"), dict):
        return data
    condition = correlation["condition"]
    operators = [k for k in condition if k in CORRELATION_OPERATORS]
    if len(operators) <= 1:
        return data
    single = {k: v for k, v in condition.items() if k not in operators[1:]}
    return {**data, "correlation": {**correlation, "condition": single}}


def _range_errors(doc: SigmaDocument) -> list[Exception]:
    condition = (doc.data.get("correlation") or {}).get("condition")
    if not isinstance(condition, dict):
        return []
    errors: list[Exception] = []
    for op in CORRELATION_OPERATORS:
        if op in condition and not isinstance(condition[op], int | float):
            errors.append(sigma_errors.SigmaCorrelationConditionError(f"'{op}' needs a number"))
    return errors


def _check_condition(doc: SigmaDocument) -> None:
    """Parse every condition now, so a rule that references a missing selection or has a
    syntax error in its condition is rejected at save time rather than in a worker."""
    rule = doc.sigma
    assert isinstance(rule, SigmaRule)
    for condition in rule.detection.parsed_condition:
        try:
            condition.parse(postprocess=True)
        except sigma_errors.SigmaError as exc:
            raise RuleInvalid([_locate(doc, exc)]) from None


# pySigma's errors carry no line: the exception class says which section is at fault, and a
# quoted token in the message (a modifier, an identifier) pinpoints the line within it.
_SECTION_OF_ERROR: list[tuple[type[Exception], tuple[str, ...]]] = [
    (sigma_errors.SigmaConditionError, ("detection", "condition")),
    (sigma_errors.SigmaCorrelationConditionError, ("correlation", "condition")),
    (sigma_errors.SigmaCorrelationRuleError, ("correlation",)),
    (sigma_errors.SigmaTimespanError, ("correlation", "timespan")),
    (sigma_errors.SigmaModifierError, ("detection",)),
    (sigma_errors.SigmaValueError, ("detection",)),
    (sigma_errors.SigmaRegularExpressionError, ("detection",)),
    (sigma_errors.SigmaDetectionError, ("detection",)),
    (sigma_errors.SigmaLogsourceError, ("logsource",)),
    (sigma_errors.SigmaIdentifierError, ("id",)),
    (sigma_errors.SigmaTitleError, ("title",)),
    (sigma_errors.SigmaLevelError, ("level",)),
    (sigma_errors.SigmaStatusError, ("status",)),
    (sigma_errors.SigmaDateError, ("date",)),
    (sigma_errors.SigmaModifiedError, ("modified",)),
    (sigma_errors.SigmaTagError, ("tags",)),
    (sigma_errors.SigmaFilterError, ("filter",)),
]
_QUOTED = re.compile(r"'([^']{1,200})'")


def _locate(doc: SigmaDocument, error: Exception) -> RuleProblem:
    message = str(error).split(" in file ")[0].strip() or type(error).__name__
    if isinstance(error, sigma_errors.SigmaRegularExpressionError):
        message = _regex_message(message)
    section: tuple[str, ...] = ()
    for error_class, path in _SECTION_OF_ERROR:
        if isinstance(error, error_class):
            section = path
            break
    for token in _QUOTED.findall(message):
        line = _line_mentioning(doc, section, token)
        if line:
            return RuleProblem(line, message)
    return RuleProblem(doc.line_of(*section), message)


def _line_mentioning(doc: SigmaDocument, section: tuple[str, ...], token: str) -> int | None:
    """The first line under ``section`` whose key path mentions ``token`` (a modifier as
    ``field|token``, an identifier, a field name)."""
    for path, line in sorted(doc.lines.items(), key=lambda item: item[1]):
        if path[: len(section)] != section or len(path) <= len(section):
            continue
        leaf = path[-1]
        if (
            leaf == token
            or token in leaf.split("|")
            or (leaf.startswith("=") and token == leaf[1:])
        ):
            return line
    if section == ("detection", "condition") or section == ("correlation", "condition"):
        return doc.line_of(*section)
    return None


def _regex_message(message: str) -> str:
    """pySigma wraps our reason ("Regular expression 'x' is invalid: regular expression
    'x' uses lookaround, ...") : keep ours."""
    _, found, reason = message.partition(" is invalid: ")
    return reason if found and reason.startswith("regular expression '") else message
