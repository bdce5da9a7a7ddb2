"""Leaf predicates: one Sigma value (after pySigma applied the modifiers) tested against one
field of an event. Sigma's defaults: strings compare case-insensitively and whole-value
unless wildcards say otherwise; regular expressions are case-sensitive unless ``|re|i``;
a list-valued field matches when any of its values does. Every regular expression —
``|re`` values and the patterns inner wildcards become — runs on RE2 (``regex``), in
time linear in the text."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
    TimestampPart,
)

from events.fields import get

from .regex import LinearRegex, RegexRefused, compile_linear, escape

MISSING = object()


class CompileError(ValueError):
    """A rule our matcher cannot run (an unresolved placeholder, a backend-only type)."""


class EventView:
    """An event as the matcher sees it: its normalized document and raw text, with field
    lookups and lower-cased renderings cached, since a thousand rules ask for the same
    few fields of the same event."""

    __slots__ = ("_joined", "_lowered", "_text", "_values", "doc", "raw")

    def __init__(self, doc: dict[str, Any], raw: str = "") -> None:
        self.doc = doc
        self.raw = raw
        self._values: dict[str, list[Any] | None] = {}
        self._lowered: dict[str, list[str]] = {}
        self._text: list[str] | None = None
        self._joined: str | None = None

    def lookup(self, field: str) -> Any:
        """The field's value: a top-level key first (Sigma's Windows names, dotted keys of
        flat JSON), then the dotted path through nested objects (ECS)."""
        doc = self.doc
        value = doc.get(field, MISSING)
        if value is MISSING and "." in field:
            return get(doc, field, MISSING)
        return value

    def values(self, field: str) -> list[Any] | None:
        """The field's scalar values (a list flattened), or None when absent or null."""
        if field in self._values:
            return self._values[field]
        value = self.lookup(field)
        if value is MISSING or value is None:
            result = None
        elif isinstance(value, list):
            result = [v for v in value if v is not None and not isinstance(v, dict | list)]
        elif isinstance(value, dict):
            result = []
        else:
            result = [value]
        self._values[field] = result
        return result

    def strings(self, field: str) -> list[str]:
        return [_as_text(v) for v in self.values(field) or ()]

    def lowered(self, field: str) -> list[str]:
        cached = self._lowered.get(field)
        if cached is None:
            value = self.doc.get(field)
            if type(value) is str:  # the common case, without the general path's steps
                cached = [value.lower()]
            else:
                cached = [s.lower() for s in self.strings(field)]
            self._lowered[field] = cached
        return cached

    def text(self) -> list[str]:
        """What keyword searches look at: the raw log and every string value (lower-cased)."""
        if self._text is None:
            found = [self.raw] if self.raw else []
            _collect_strings(self.doc, found)
            self._text = [s.lower() for s in found]
        return self._text

    def joined_text(self) -> str:
        """``text()`` as one string, NUL-separated: a keyword without NUL is in some value
        exactly when it is in this, and one C-level search beats one per value."""
        if self._joined is None:
            if self._text is not None:
                self._joined = "\0".join(self._text)
            else:
                found = [self.raw] if self.raw else []
                _collect_strings(self.doc, found)
                self._joined = "\0".join(found).lower()
        return self._joined


def _collect_strings(node: Any, into: list[str]) -> None:
    """Every string in ``node``, depth first (type checks by identity: this runs for
    every event a keyword rule meets)."""
    kind = type(node)
    if kind is dict:
        for value in node.values():
            kind = type(value)
            if kind is str:
                into.append(value)
            elif kind is dict or kind is list:
                _collect_strings(value, into)
    elif kind is list:
        for value in node:
            kind = type(value)
            if kind is str:
                into.append(value)
            elif kind is dict or kind is list:
                _collect_strings(value, into)
    elif kind is str:
        into.append(node)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


Predicate = Callable[[EventView], bool]
TextTest = Callable[[str], bool]


# ---- strings and wildcards ----------------------------------------------------------------


def expand_placeholders(value: SigmaString) -> list[SigmaString]:
    """The strings ``value`` stands for once its %placeholders% take their configured
    values (settings.SIGMA_PLACEHOLDERS); CompileError naming one that has none."""
    from django.conf import settings

    defined: dict[str, Any] = getattr(settings, "SIGMA_PLACEHOLDERS", {}) or {}

    def values_of(placeholder: Placeholder) -> Iterator[SigmaString]:
        values = defined.get(placeholder.name)
        if values is None:
            raise CompileError(
                f"placeholder %{placeholder.name}% has no value here "
                "(define it in SIGMA_PLACEHOLDERS or drop '|expand')"
            )
        items = values if isinstance(values, list) else [values]
        return iter([SigmaString(str(item)) for item in items])

    return list(value.replace_placeholders(values_of))


def string_parts(value: SigmaString) -> list[str | SpecialChars]:
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise CompileError(
                f"placeholder %{part.name}% has no value here (define it or drop '|expand')"
            )
        parts.append(part)
    return parts


def text_test(value: SigmaString, *, lower: bool) -> tuple[str, Any]:
    """How to test a string against ``value``: ("eq"|"startswith"|"endswith"|"contains",
    needle), ("any", None) for a lone ``*``, or ("regex", a LinearRegex to fullmatch)."""
    parts = string_parts(value)
    multi, single = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE

    def fold(text: str) -> str:
        return text.lower() if lower else text

    literal = [p for p in parts if isinstance(p, str)]
    if len(literal) == len(parts):
        return "eq", fold("".join(literal))
    if parts == [multi]:
        return "any", None
    if single not in parts:
        if (
            len(parts) == 3
            and parts[0] is multi
            and parts[2] is multi
            and isinstance(parts[1], str)
        ):
            return "contains", fold(parts[1])
        if len(parts) == 2 and parts[1] is multi and isinstance(parts[0], str):
            return "startswith", fold(parts[0])
        if len(parts) == 2 and parts[0] is multi and isinstance(parts[1], str):
            return "endswith", fold(parts[1])
    pattern = "".join(
        escape(fold(p)) if isinstance(p, str) else ".*" if p is multi else "." for p in parts
    )
    # RE2, not re: ``*a*a*a*...`` would backtrack polynomially in ``re`` (``.*`` per star)
    return "regex", compile_linear(pattern, "s")


def make_text_test(kind: str, needle: Any) -> TextTest:
    if kind == "eq":
        equals: TextTest = needle.__eq__  # the string's own method: the fastest test
        return equals
    if kind == "contains":
        return lambda s: needle in s
    if kind == "startswith":
        return lambda s: s.startswith(needle)
    if kind == "endswith":
        return lambda s: s.endswith(needle)
    if kind == "any":
        return lambda s: True
    regex: LinearRegex = needle
    return regex.fullmatch


def _as_keyword(value: SigmaString) -> SigmaString:
    """Keywords search the whole event: a keyword without wildcards at its ends matches
    anywhere in a value (full-text search), as Sigma's keyword lists are written."""
    parts = string_parts(value)
    if not parts or parts[0] is not SpecialChars.WILDCARD_MULTI:
        parts = [SpecialChars.WILDCARD_MULTI, *parts]
    if parts[-1] is not SpecialChars.WILDCARD_MULTI:
        parts = [*parts, SpecialChars.WILDCARD_MULTI]
    wrapped = SigmaString()
    wrapped.s = [*parts]
    return wrapped


def _wildcard_keyword(value: SigmaString) -> Predicate:
    """An uncased keyword with wildcards inside (``foo*bar``): one search of the joined
    text, the wildcards kept within a value (they never cross the NUL separators), after
    a cheap check that its longest literal piece is there at all."""
    parts = string_parts(_as_keyword(value))
    literals = [p.lower() for p in parts if isinstance(p, str)]
    if any("\0" in piece for piece in literals):
        keyword = keyword_test(value)
        return lambda view: any(keyword(s) for s in view.text())
    pattern = compile_linear(
        "".join(
            "[^\\x00]*"
            if p is SpecialChars.WILDCARD_MULTI
            else "[^\\x00]"
            if p is SpecialChars.WILDCARD_SINGLE
            else escape(p.lower())
            for p in parts
        )
    )
    longest = max(literals, key=len, default="")

    def test(view: EventView) -> bool:
        text = view.joined_text()
        return longest in text and pattern.search(text)

    return test


def keyword_test(value: SigmaString) -> TextTest:
    lower = not isinstance(value, SigmaCasedString)
    return make_text_test(*text_test(_as_keyword(value), lower=lower))


# ---- field predicates ---------------------------------------------------------------------


def field_predicate(field: str, value: Any) -> Predicate:
    """A predicate for ``field`` compared with one Sigma value."""
    if isinstance(value, SigmaExpansion):
        subs = [field_predicate(field, v) for v in value.values]
        return lambda view: any(p(view) for p in subs)
    if isinstance(value, SigmaNull):
        return lambda view: view.values(field) is None
    if isinstance(value, SigmaExists):
        expected = bool(value.exists)
        return lambda view: (view.lookup(field) not in (MISSING, None)) is expected
    if isinstance(value, SigmaTimestampPart):
        return _timestamp_part(field, value)
    if isinstance(value, SigmaBool):
        return _bool(field, value.boolean)
    if isinstance(value, SigmaNumber):
        return _number(field, value.number)
    if isinstance(value, SigmaString) and value.contains_placeholder():
        return any_of(field_predicate(field, v) for v in expand_placeholders(value))
    if isinstance(value, SigmaString):
        cased = isinstance(value, SigmaCasedString)
        kind, needle = text_test(value, lower=not cased)
        return strings_test(field, cased, kind, needle)
    if isinstance(value, SigmaRegularExpression):
        return _regex(field, value)
    if isinstance(value, SigmaCIDRExpression):
        return _cidr(field, value)
    if isinstance(value, SigmaCompareExpression):
        return _compare(field, value)
    if isinstance(value, SigmaFieldReference):
        return _field_reference(field, value)
    raise CompileError(f"values of type {type(value).__name__} cannot be matched")


def keyword_predicate(value: Any) -> Predicate:
    if isinstance(value, SigmaExpansion):
        subs = [keyword_predicate(v) for v in value.values]
        return lambda view: any(p(view) for p in subs)
    if isinstance(value, SigmaString) and value.contains_placeholder():
        return any_of(keyword_predicate(v) for v in expand_placeholders(value))
    if isinstance(value, SigmaString):
        if isinstance(value, SigmaCasedString):
            test = keyword_test(value)
            return lambda view: bool(view.raw) and test(view.raw)
        needles = plain_keyword(value)
        if needles is not None:
            return keywords_test(needles)
        return _wildcard_keyword(value)
    if isinstance(value, SigmaRegularExpression):
        pattern = compile_regex(value)
        return lambda view: pattern.search(view.raw)
    if isinstance(value, SigmaNumber):
        needle = _as_text(value.number).lower()
        return lambda view: any(needle in s for s in view.text())
    raise CompileError(f"keyword values of type {type(value).__name__} cannot be matched")


_RE_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


def compile_regex(value: SigmaRegularExpression) -> LinearRegex:
    """A ``|re`` value with its ``|i``/``|m``/``|s`` flags, on RE2."""
    if value.regexp.contains_placeholder():
        raise CompileError("placeholders in regular expressions are not supported")
    flags = "".join(_RE_FLAGS[flag] for flag in value.flags)
    try:
        return compile_linear(str(value.regexp), flags)
    except RegexRefused as exc:
        raise CompileError(str(exc)) from None


def _regex(field: str, value: SigmaRegularExpression) -> Predicate:
    pattern = compile_regex(value)
    # Sigma leaves anchoring to the rule (``^``/``$``): the expression is searched for.
    return lambda view: any(pattern.search(s) for s in view.strings(field))


def _cidr(field: str, value: SigmaCIDRExpression) -> Predicate:
    network = value.network

    def test(view: EventView) -> bool:
        for text in view.strings(field):
            try:
                if ipaddress.ip_address(text.strip("[]")) in network:
                    return True
            except ValueError:
                continue
        return False

    return test


def _to_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _number(field: str, number: int | float) -> Predicate:
    text = _as_text(number).lower()
    target = float(number)

    def test(view: EventView) -> bool:
        for value in view.values(field) or ():
            as_number = _to_number(value)
            if as_number is not None and as_number == target:
                return True
            if isinstance(value, str) and value.strip().lower() == text:
                return True
        return False

    return test


def _bool(field: str, expected: bool) -> Predicate:
    text = "true" if expected else "false"

    def test(view: EventView) -> bool:
        for value in view.values(field) or ():
            if isinstance(value, bool) and value is expected:
                return True
            if isinstance(value, str) and value.strip().lower() == text:
                return True
        return False

    return test


_COMPARE: dict[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
}


def _compare(field: str, value: SigmaCompareExpression) -> Predicate:
    op = _COMPARE[value.op]
    target = float(value.number.number)

    def test(view: EventView) -> bool:
        for item in view.values(field) or ():
            number = _to_number(item)
            if number is not None and op(number, target):
                return True
        return False

    return test


def _field_reference(field: str, value: SigmaFieldReference) -> Predicate:
    other = value.field

    def test(view: EventView) -> bool:
        theirs = view.lowered(other)
        if not theirs:
            return False
        for mine in view.lowered(field):
            for their in theirs:
                if value.starts_with and mine.startswith(their):
                    return True
                if value.ends_with and mine.endswith(their):
                    return True
                if not (value.starts_with or value.ends_with) and mine == their:
                    return True
        return False

    return test


_PART_OF: dict[TimestampPart, Callable[[datetime], int]] = {
    TimestampPart.MINUTE: lambda d: d.minute,
    TimestampPart.HOUR: lambda d: d.hour,
    TimestampPart.DAY: lambda d: d.day,
    TimestampPart.WEEK: lambda d: d.isocalendar()[1],
    TimestampPart.MONTH: lambda d: d.month,
    TimestampPart.YEAR: lambda d: d.year,
}


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    text = str(value).strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _timestamp_part(field: str, value: SigmaTimestampPart) -> Predicate:
    part = _PART_OF[value.timestamp_part]
    target = int(value.number)

    def test(view: EventView) -> bool:
        for item in view.values(field) or ():
            moment = _parse_time(item)
            if moment is not None and part(moment) == target:
                return True
        return False

    return test


# The combinators and loops below are written out (no generator in ``any``): they run a
# few million times a second, and a generator's setup costs more than the test itself.


def any_of(predicates: Iterable[Predicate]) -> Predicate:
    items = tuple(predicates)
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        first, second = items
        return lambda view: bool(first(view) or second(view))

    def test(view: EventView) -> bool:
        for predicate in items:  # noqa: SIM110 - hot path
            if predicate(view):
                return True
        return False

    return test


def all_of(predicates: Iterable[Predicate]) -> Predicate:
    items = tuple(predicates)
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        first, second = items
        return lambda view: bool(first(view) and second(view))

    def test(view: EventView) -> bool:
        for predicate in items:  # noqa: SIM110 - hot path
            if not predicate(view):
                return False
        return True

    return test


def strings_test(field: str, cased: bool, kind: str, needle: Any) -> Predicate:
    """Some value of ``field`` (lower-cased unless ``cased``) passes one string test."""

    def values(view: EventView) -> list[str]:
        return view.strings(field) if cased else view.lowered(field)

    if kind == "eq":
        return lambda view: needle in values(view)
    if kind == "any":
        return lambda view: bool(values(view))
    if kind in ("startswith", "endswith"):

        def affix(view: EventView) -> bool:
            for text in values(view):
                if (text.startswith if kind == "startswith" else text.endswith)(needle):
                    return True
            return False

        return affix
    test = make_text_test(kind, needle)

    def loop(view: EventView) -> bool:
        for text in values(view):  # noqa: SIM110 - hot path
            if test(text):
                return True
        return False

    return loop


def plain_keyword(value: SigmaString) -> str | None:
    """The lower-cased needle of an uncased keyword that is a plain substring search
    (no inner wildcard, no NUL), or None."""
    if isinstance(value, SigmaCasedString):
        return None
    kind, needle = text_test(_as_keyword(value), lower=True)
    if kind == "contains" and isinstance(needle, str) and needle and "\0" not in needle:
        return needle
    return None


def keywords_test(*needles: str) -> Predicate:
    """Any of these substrings anywhere in the event (the raw log or any string value)."""
    if len(needles) == 1:
        (needle,) = needles
        return lambda view: needle in view.joined_text()

    def test(view: EventView) -> bool:
        text = view.joined_text()
        for needle in needles:  # noqa: SIM110 - hot path
            if needle in text:
                return True
        return False

    return test
