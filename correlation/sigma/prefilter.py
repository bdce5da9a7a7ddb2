"""Matching many rules at once: a prefilter that tells, from one pass over an event's
fields, which rules could possibly match it, so only those rules' predicates run.

For each rule (each logsource variant) we derive a *need* from its condition tree: a set
of literal tests ("atoms") of which at least one holds on every event the rule matches —
``Image`` ends with ``\\cmd.exe``, ``CommandLine`` contains ``-enc``, the event's text
contains ``mimikatz``. A rule with no derivable need (a ``not`` at the top, a regular
expression, a number, a CIDR...) is always a candidate. The prefilter of a list of rules
files every atom of every need under its field: equality atoms in a dict, substring atoms
(``contains``, ``startswith``, ``endswith``) in one Aho-Corasick automaton per field, and
keyword atoms in one automaton over the event's text. An event's values of each field are
looked at once, whatever the number of rules; the rules whose atoms were met, with the
rules that are always candidates, are the ones whose predicates decide.

Soundness is all that matters here: a need must hold whenever the rule matches (the full
predicate still decides, so a need may hold when the rule does not match). Atoms compare
lower-cased text with lower-cased needles, the way the matcher compares Sigma's default
(case-insensitive) strings; a ``|cased`` substring becomes an atom only when it is ASCII,
whose lower-casing does not depend on the neighbouring characters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import ahocorasick
import orjson
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaDetections
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaNumber,
    SigmaString,
    SpecialChars,
)

from .values import EventView, _as_text, plain_keyword, string_parts

KINDS = ("eq", "contains", "startswith", "endswith")


@dataclass(frozen=True)
class Atom:
    """One literal test: a value of ``field`` (lower-cased) equals, contains, starts or
    ends with ``needle``; ``field`` None: the event's text (keywords) contains it."""

    field: str | None
    kind: str
    needle: str


# At least one of these atoms holds on every event the rule matches; empty: the rule
# matches nothing.
Need = frozenset[Atom]


# ---- deriving a rule's need -----------------------------------------------------------


def detections_need(
    detections: SigmaDetections, field_map: Callable[[str], str] = lambda name: name
) -> Need | None:
    """The need of a detection (its conditions are alternatives), or None when none can
    be derived. Walks the same tree ``matcher.compile_detections`` compiles."""
    trees = [condition.parse(postprocess=True) for condition in detections.parsed_condition]
    return _union(tree_need(tree, field_map) for tree in trees)


def tree_need(node: Any, field_map: Callable[[str], str]) -> Need | None:
    if node is None:  # a detection emptied by processing: it matches nothing
        return frozenset()
    if isinstance(node, ConditionNOT):
        return None
    if isinstance(node, ConditionAND):
        # every part must hold: the need of any part will do; take the most selective
        needs = [tree_need(arg, field_map) for arg in node.args]
        known = [need for need in needs if need is not None]
        return min(known, key=need_weight) if known else None
    if isinstance(node, ConditionOR):
        return _union(tree_need(arg, field_map) for arg in node.args)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return field_need(field_map(node.field), node.value)
    if isinstance(node, ConditionValueExpression):
        return keyword_need(node.value)
    return None


def _union(needs: Iterable[Need | None]) -> Need | None:
    """Any of several alternatives: the union of their needs, None if one has none."""
    atoms: set[Atom] = set()
    for need in needs:
        if need is None:
            return None
        atoms |= need
    return frozenset(atoms)


def field_need(field: str, value: Any) -> Need | None:
    if isinstance(value, SigmaExpansion):
        return _union(field_need(field, v) for v in value.values)
    if not isinstance(value, SigmaString) or value.contains_placeholder():
        return None
    cased = isinstance(value, SigmaCasedString)
    atom = string_atom(field, string_parts(value), cased)
    return frozenset([atom]) if atom is not None else None


def string_atom(field: str | None, parts: Sequence[str | SpecialChars], cased: bool) -> Atom | None:
    """An atom that holds whenever a value matches the wildcard string ``parts`` (as a
    whole), or None. The matcher lower-cases each literal piece on its own and matches
    the lower-cased value (``text_test``), so these needles are pieces of what it reads."""
    literal = [p for p in parts if isinstance(p, str)]
    if len(literal) == len(parts):
        # equality survives lower-casing both sides, cased or not
        return Atom(field, "eq", "".join(literal).lower())
    if cased and not all(piece.isascii() for piece in literal):
        return None
    options = [Atom(field, "contains", piece.lower()) for piece in literal]
    if isinstance(parts[0], str):
        options.append(Atom(field, "startswith", parts[0].lower()))
    if isinstance(parts[-1], str):
        options.append(Atom(field, "endswith", parts[-1].lower()))
    usable = [atom for atom in options if atom.needle]
    return min(usable, key=atom_weight) if usable else None


def keyword_need(value: Any) -> Need | None:
    """A keyword's need: its text (or its longest literal piece) in the event's text."""
    if isinstance(value, SigmaExpansion):
        return _union(keyword_need(v) for v in value.values)
    if isinstance(value, SigmaNumber):
        return frozenset([Atom(None, "contains", _as_text(value.number).lower())])
    if type(value) is not SigmaString or value.contains_placeholder():
        return None  # cased keywords search the raw text only; regexes: no need
    needle = plain_keyword(value)
    if needle is None:
        pieces = [p.lower() for p in string_parts(value) if isinstance(p, str)]
        if any("\0" in piece for piece in pieces):
            return None
        needle = max(pieces, key=len, default="")
    return frozenset([Atom(None, "contains", needle)]) if needle else None


def atom_weight(atom: Atom) -> float:
    """A rough chance that an event meets ``atom``: whole values are rarer than pieces,
    long pieces rarer than short ones."""
    if atom.kind == "eq":
        return 0.01
    length = len(atom.needle)
    base = 0.05 if length >= 5 else 0.15 if length >= 3 else 0.5
    return base if atom.kind == "contains" else base / 2


def need_weight(need: Need) -> float:
    return sum(atom_weight(atom) for atom in need)


# ---- the prefilter of a list of rules -------------------------------------------------


class _FieldIndex:
    """The atoms of one field (or of the event's text): equality needles in a dict, the
    others in one automaton whose payload says, per needle, which rules it serves as a
    substring, a prefix or a suffix (bit masks over the rule list)."""

    def __init__(self) -> None:
        self.equals: dict[str, int] = {}
        self.pieces: dict[str, list[int]] = {}  # needle -> [contains, startswith, endswith]
        self.automaton: Any = None

    def add(self, atom: Atom, bit: int) -> None:
        if atom.kind == "eq":
            self.equals[atom.needle] = self.equals.get(atom.needle, 0) | bit
            return
        masks = self.pieces.setdefault(atom.needle, [0, 0, 0])
        masks[KINDS.index(atom.kind) - 1] |= bit

    def finish(self) -> None:
        if not self.pieces:
            return
        self.automaton = ahocorasick.Automaton()
        for needle, (contains, starts, ends) in self.pieces.items():
            self.automaton.add_word(needle, (len(needle), contains, starts, ends))
        self.automaton.make_automaton()

    def met(self, texts: list[str]) -> int:
        """The rules some atom of which one of ``texts`` meets."""
        found = 0
        equals = self.equals
        automaton = self.automaton
        for text in texts:
            if equals:
                found |= equals.get(text, 0)
            if automaton is None:
                continue
            last = len(text) - 1
            for end, (length, contains, starts, ends) in automaton.iter(text):
                found |= contains
                if starts and end + 1 == length:
                    found |= starts
                if ends and end == last:
                    found |= ends
        return found


class Prefilter:
    """Which of a list of rules (by position) could match an event: one look at each
    field some rule's need names, and at the event's text if a need has keywords."""

    def __init__(self, needs: Sequence[Need | None]) -> None:
        self.size = len(needs)
        self.always = 0  # rules without a need: always candidates
        self.fields: dict[str, _FieldIndex] = {}
        # keywords, sought in the document's JSON and the raw log ...
        self.text: _FieldIndex | None = None
        # ... and, every one as it is, in the exact text (``EventView.joined_text``): for
        # documents JSON cannot write, and wherever a keyword is not ASCII
        self.exact_text: _FieldIndex | None = None
        self.exact_only = False  # some keyword can be sought in the exact text only
        for position, need in enumerate(needs):
            bit = 1 << position
            if need is None:
                self.always |= bit
                continue
            for atom in need:
                self.add(atom, bit)
        for index in self._indexes():
            index.finish()
        self._fields = list(self.fields.items())

    def add(self, atom: Atom, bit: int) -> None:
        if atom.field is not None:
            self.fields.setdefault(atom.field, _FieldIndex()).add(atom, bit)
            return
        if self.text is None or self.exact_text is None:
            self.text, self.exact_text = _FieldIndex(), _FieldIndex()
        self.exact_text.add(atom, bit)
        if not atom.needle.isascii():
            self.exact_only = True
            return
        # In the raw log as it is; in a string value of the document, as JSON writes it
        # (escaping maps each character on its own, so a value holding the needle holds
        # its escaped form in the JSON).
        self.text.add(atom, bit)
        escaped = json_escaped(atom.needle)
        if escaped != atom.needle:
            self.text.add(Atom(None, "contains", escaped), bit)

    def _indexes(self) -> list[_FieldIndex]:
        texts = [self.text, self.exact_text] if self.text and self.exact_text else []
        return [*self.fields.values(), *texts]

    def select(self, view: EventView) -> int:
        """A bit mask of the rules that could match ``view`` (bit n: the n-th rule)."""
        found = self.always
        for field, index in self._fields:
            texts = view.lowered(field)
            if texts:
                found |= index.met(texts)
        if self.text is not None and self.exact_text is not None:
            found |= self._keywords(view, self.text, self.exact_text)
        return found

    def _keywords(self, view: EventView, text: _FieldIndex, exact: _FieldIndex) -> int:
        """Keyword atoms are sought in the document's JSON and the raw log, lower-cased (a
        C-speed stand-in for the text keyword search, which holds every string value as it
        is: the JSON only adds keys, numbers, quotes and escapes around them). ASCII
        letters lower-case alike wherever they stand; a keyword that is not ASCII, and
        every keyword of a document JSON cannot write, is sought in the exact text."""
        if self.exact_only:
            return exact.met([view.joined_text()])
        try:
            document = orjson.dumps(view.doc).decode()
        except TypeError:  # a value JSON has no form for (an integer past 64 bits...)
            return exact.met([view.joined_text()])
        return text.met([f"{document}\0{view.raw}".lower()])


def json_escaped(needle: str) -> str:
    """``needle`` as orjson writes it inside a JSON string, lower-cased (the search text
    is the lower-cased JSON): quotes, backslashes and control characters escaped."""
    return orjson.dumps(needle).decode()[1:-1].lower()


def positions(mask: int) -> list[int]:
    """The set bits of ``mask``, lowest first."""
    found = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found
