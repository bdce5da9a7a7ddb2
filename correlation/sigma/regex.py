"""Regular expressions from rules (Sigma ``|re`` values and the patterns our wildcards
become) run on RE2: its matching time is linear in the text whatever the pattern, so a
pasted rule with ``(a+)+$`` costs no more than ``a+$``. What RE2 cannot do — lookaround,
backreferences, atomic groups, possessive repeats: the features that need backtracking —
is refused with a reason, when the rule is read (pySigma validates ``|re`` values through
``LinearRegexEngine`` below).

The differences from Python's ``re`` a rule author may meet: ``\\d``, ``\\w``, ``\\s`` and
``\\b`` are ASCII classes (``\\p{L}``, ``\\pN`` for Unicode), and ``$`` without ``(?m)``
matches only at the very end (not before a final newline). Flags are Sigma's ``|i``,
``|m`` and ``|s``, given to RE2 as inline flags.
"""

from __future__ import annotations

import re
from typing import Any, cast

import re2
from sigma.policy import SigmaPolicy
from sigma.policy.regex_engine import RegexEngine, RegexPattern

# RE2 refuses what it cannot run; these say why in the rule author's terms.
_NEEDS_BACKTRACKING = (
    (re.compile(r"invalid perl operator: \(\?<?[=!]"), "lookaround ((?=, (?!, (?<=, (?<!)"),
    (re.compile(r"invalid escape sequence: \\[1-9]"), "a backreference (\\1 ...)"),
    (re.compile(r"invalid perl operator: \(\?P(?!<)"), "a named backreference ((?P=name))"),
    (re.compile(r"invalid escape sequence: \\k"), "a named backreference (\\k<name>)"),
    (re.compile(r"invalid perl operator: \(\?>"), "an atomic group ((?>...))"),
    (re.compile(r"bad repetition operator: [*+?}]\+"), "a possessive repeat (*+, ++, ?+)"),
)
SIGMA_FLAGS = {"i", "m", "s"}
# RE2's memory budget per pattern (its compiled program and the DFA it builds while
# matching; over it, RE2 falls back to its slower NFA, still linear). RE2's default is
# 8 MiB; SigmaHQ's largest |re program (8,005 instructions) compiles within 256 KiB.
MAX_MEM = 1 << 20


class RegexRefused(ValueError):
    """A pattern that RE2 does not run, with the reason in plain words."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the rule author's problem, not a log line
    options.max_mem = MAX_MEM
    return options


def explain(pattern: str, error: str) -> str:
    """Why ``pattern`` is refused, from RE2's error message."""
    for shape, feature in _NEEDS_BACKTRACKING:
        if shape.search(error):
            return (
                f"regular expression '{pattern}' uses {feature}, which needs backtracking: "
                "rule regexes run on RE2, in time linear in the text, and cannot use it"
            )
    return f"regular expression '{pattern}' is invalid: {error}"


def compile_linear(pattern: str, flags: str = "") -> LinearRegex:
    """``pattern`` compiled by RE2 with Sigma's flags (any of ``i``, ``m``, ``s``);
    RegexRefused saying why when RE2 cannot run it."""
    unknown = set(flags) - SIGMA_FLAGS
    if unknown:
        raise RegexRefused(f"unknown regular expression flag {sorted(unknown)[0]!r}")
    prefix = f"(?{''.join(sorted(set(flags)))})" if flags else ""
    try:
        compiled = re2.compile(prefix + pattern, _options())
    except re2.error as exc:
        message = exc.args[0] if exc.args else str(exc)
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        raise RegexRefused(explain(pattern, str(message))) from None
    return LinearRegex(pattern, compiled)


class LinearRegex:
    """A compiled RE2 pattern tested against text; ``engine`` is the RE2 object."""

    __slots__ = ("engine", "pattern")

    # Any: RE2 searches bytes or text whichever the pattern was compiled from.
    def __init__(self, pattern: str, engine: re2._Regexp[Any]) -> None:
        self.pattern = pattern
        self.engine = engine

    def search(self, text: str) -> bool:
        """Somewhere in ``text``. Encoded here, keeping lone surrogates (a pasted JSON
        event may hold one), which RE2 then sees as bytes that match no character."""
        return self.engine.search(text.encode("utf-8", "surrogatepass")) is not None

    def fullmatch(self, text: str) -> bool:
        return self.engine.fullmatch(text.encode("utf-8", "surrogatepass")) is not None

    def __repr__(self) -> str:
        return f"LinearRegex({self.pattern!r})"


def escape(text: str) -> str:
    """``text`` as a literal in an RE2 pattern."""
    return re2.escape(text)


class LinearRegexEngine(RegexEngine):
    """pySigma's regex validation through ``compile_linear``: a rule's ``|re`` values are
    checked when it is parsed exactly as the matcher will compile them (same flags, same
    reasons, and RE2's own error log kept quiet)."""

    _FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))

    def compile(self, pattern: str, flags: int = 0) -> RegexPattern:
        letters = "".join(letter for flag, letter in self._FLAG_LETTERS if flags & flag)
        # RE2's pattern object is one pySigma can use; their stubs differ on details
        # (a read-only ``groupindex``) that pySigma never touches.
        return cast(RegexPattern, compile_linear(pattern, letters).engine)

    @property
    def error(self) -> type[Exception]:
        return RegexRefused


# What rules are parsed under: pySigma's safe defaults (no template variables, no external
# sources) with our regex engine.
RULE_POLICY = SigmaPolicy(regex_engine=LinearRegexEngine())
