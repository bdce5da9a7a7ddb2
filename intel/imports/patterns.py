"""STIX 2.1 indicator patterns, read (never evaluated) into the values they compare.

socapp matches indicators by value, so only patterns that say "this value or that one"
become IOCs: observation expressions joined by OR, each a comparison or comparisons
joined by OR, each an equality (``=``) on a property socapp knows (``PROPERTIES``).
Anything else (AND, FOLLOWEDBY, qualifiers such as WITHIN, LIKE, MATCHES, NOT, ranges)
is a behaviour to detect, not a value to look up: ``comparisons`` raises ``Unsupported``
with the reason, and the importer skips the indicator saying so.
"""

from __future__ import annotations

from typing import Any

from stix2patterns.exceptions import ParseException
from stix2patterns.v21.grammars.STIXPatternListener import STIXPatternListener
from stix2patterns.v21.pattern import Pattern

from ..choices import IocType

MAX_PATTERN = 64 * 1024
MAX_COMPARISONS = 1000

_HASHES = {
    "md5": IocType.MD5,
    "sha-1": IocType.SHA1,
    "sha1": IocType.SHA1,
    "sha-256": IocType.SHA256,
    "sha256": IocType.SHA256,
}
# (object type, property path) -> IOC type (an IPv4 type reads IPv6 and CIDRs too).
PROPERTIES: dict[tuple[str, str], str] = {
    ("ipv4-addr", "value"): IocType.IPV4,
    ("ipv6-addr", "value"): IocType.IPV6,
    ("domain-name", "value"): IocType.DOMAIN,
    ("url", "value"): IocType.URL,
    ("email-addr", "value"): IocType.EMAIL,
    ("email-message", "from_ref.value"): IocType.EMAIL,
    ("email-message", "sender_ref.value"): IocType.EMAIL,
    ("file", "name"): IocType.FILENAME,
    ("network-traffic", "src_ref.value"): IocType.IPV4,
    ("network-traffic", "dst_ref.value"): IocType.IPV4,
    ("network-traffic", "extensions.http-request-ext.request_header.user-agent"): (
        IocType.USER_AGENT
    ),
    ("user-account", "user_id"): IocType.USER,
    ("user-account", "account_login"): IocType.USER,
}
HASHED_OBJECTS = ("file", "artifact", "x509-certificate")


class Unsupported(Exception):
    """The pattern is valid STIX but not a set of values socapp can match."""


class _Shape(STIXPatternListener):
    """Notes every construct that makes a pattern more than an OR of equalities."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def enterObservationExpressions(self, ctx: Any) -> None:
        if ctx.FOLLOWEDBY():
            self.problems.append("FOLLOWEDBY")

    def enterObservationExpressionAnd(self, ctx: Any) -> None:
        if ctx.AND():
            self.problems.append("AND between observations")

    def enterComparisonExpressionAnd(self, ctx: Any) -> None:
        if ctx.AND():
            self.problems.append("AND between comparisons")

    def enterObservationExpressionWithin(self, ctx: Any) -> None:
        self.problems.append("a WITHIN qualifier")

    def enterObservationExpressionRepeated(self, ctx: Any) -> None:
        self.problems.append("a REPEATS qualifier")

    def enterObservationExpressionStartStop(self, ctx: Any) -> None:
        self.problems.append("a START/STOP qualifier")

    def enterPropTestEqual(self, ctx: Any) -> None:
        if ctx.NEQ() or ctx.NOT():
            self.problems.append("a negated comparison")

    def _other(self, what: str) -> None:
        self.problems.append(what)

    def enterPropTestOrder(self, ctx: Any) -> None:
        self._other("an ordering comparison (<, >)")

    def enterPropTestSet(self, ctx: Any) -> None:
        self._other("IN")

    def enterPropTestLike(self, ctx: Any) -> None:
        self._other("LIKE")

    def enterPropTestRegex(self, ctx: Any) -> None:
        self._other("MATCHES")

    def enterPropTestIsSubset(self, ctx: Any) -> None:
        self._other("ISSUBSET")

    def enterPropTestIsSuperset(self, ctx: Any) -> None:
        self._other("ISSUPERSET")

    def enterPropTestExists(self, ctx: Any) -> None:
        self._other("EXISTS")


def _string(literal: str) -> str | None:
    """The text of a STIX string literal ('...' with \\' and \\\\ escapes), else None."""
    if len(literal) < 2 or not (literal[0] == literal[-1] == "'"):
        return None
    return literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")


def _ioc_type(object_type: str, path: list[str]) -> tuple[bool, str | None]:
    """(known, IOC type) of a property path; a hash path names its algorithm."""
    lowered = [str(step).lower() for step in path]
    if object_type in HASHED_OBJECTS and len(lowered) == 2 and lowered[0] == "hashes":
        kind = _HASHES.get(lowered[1])
        return kind is not None, kind
    key = (object_type, ".".join(lowered))
    return key in PROPERTIES, PROPERTIES.get(key)


def comparisons(pattern: str) -> tuple[list[tuple[str | None, str]], list[str]]:
    """The (IOC type or None for "an address, read its shape", value) pairs ``pattern``
    compares, and the object paths it compares that socapp does not know. Raises
    ``Unsupported`` for anything but an OR of equalities, ``ParseException`` when the
    pattern is not valid STIX."""
    if len(pattern) > MAX_PATTERN:
        raise Unsupported(f"the pattern is longer than {MAX_PATTERN:,} characters")
    parsed = Pattern(pattern)
    shape = _Shape()
    parsed.walk(shape)
    if shape.problems:
        raise Unsupported("the pattern uses " + ", ".join(sorted(set(shape.problems))))
    found: list[tuple[str | None, str]] = []
    unknown: list[str] = []
    for object_type, tests in parsed.inspect().comparisons.items():
        for path, _operator, literal in tests:
            known, kind = _ioc_type(object_type, path)
            value = _string(literal)
            if not known or value is None:
                unknown.append(f"{object_type}:{'.'.join(str(p) for p in path)}")
                continue
            found.append((kind, value))
            if len(found) > MAX_COMPARISONS:
                raise Unsupported(f"the pattern compares more than {MAX_COMPARISONS} values")
    return found, unknown


__all__ = ["ParseException", "Unsupported", "comparisons"]
