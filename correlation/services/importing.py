"""Importing Sigma rule files and folders (``import_sigma``, the bootstrap rule pack)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from socapp.users import User

from ..sigma.documents import RuleInvalid, SigmaDocument, parse_documents
from ..sigma.limits import RuleLimits, size_problem
from .rules import SKIPPED_STATUSES, RuleUnsupported, referenced_names, save_document

RULE_SUFFIXES = (".yml", ".yaml")
# socapp's default rule pack (loaded by ``manage.py bootstrap``).
RULE_PACK = Path(__file__).resolve().parent.parent / "rulepack"


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (where, problem)

    @property
    def total(self) -> int:
        return self.imported + self.updated + self.unchanged + len(self.skipped) + len(self.errors)


def rule_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The rule files under ``paths`` (files as given, folders searched), sorted, and the
    paths that do not exist."""
    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            missing.append((str(path), "no such file or folder"))
    return files, missing


def import_rules(
    paths: Iterable[str | Path],
    *,
    actor: User | None,
    active: bool | None = True,
    team: Any = None,
    origin_root: Path | None = None,
) -> ImportReport:
    """Load every Sigma document under ``paths``, each after the rules it refers to
    (``in_dependency_order``), so a correlation finds the rules it counts wherever they are.

    ``active``: None keeps an existing rule's enabled/disabled state (new rules start
    active). ``origin_root``: record origins relative to it."""
    report = ImportReport()
    files, missing = rule_files(paths)
    report.errors.extend(missing)
    documents: list[tuple[str, SigmaDocument]] = []
    limits = RuleLimits.from_settings()
    for path in files:
        try:
            # a file past RULE_MAX_BYTES is refused before it is read
            too_big = size_problem(path.stat().st_size, limits)
            text = "" if too_big else path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.errors.append((str(path), f"cannot read: {exc}"))
            continue
        if too_big:
            report.errors.append((str(path), too_big))
            continue
        try:
            where = str(path.relative_to(origin_root)) if origin_root else str(path)
            documents.extend((where, doc) for doc in parse_documents(text, limits))
        except RuleInvalid as exc:
            for problem in exc.problems:
                report.errors.append((f"{path}:{problem.line or 1}", problem.message))
    pending: dict[str, str] = {}
    for where, doc in in_dependency_order(documents):
        _import_one(where, doc, report, actor=actor, active=active, team=team, pending=pending)
    return report


def in_dependency_order(
    documents: list[tuple[str, SigmaDocument]],
) -> list[tuple[str, SigmaDocument]]:
    """Detection rules, then correlations each after the correlations of the batch it
    names, then filters. A file may name a rule before defining it (the Sigma
    specification's examples put the correlation first). Correlations caught in a cycle
    keep their order and fail on the reference they cannot resolve."""
    detections = [item for item in documents if item[1].kind == "detection"]
    correlations = [item for item in documents if item[1].kind == "correlation"]
    filters = [item for item in documents if item[1].kind == "filter"]
    return detections + _correlations_in_order(correlations) + filters


def _correlations_in_order(
    correlations: list[tuple[str, SigmaDocument]],
) -> list[tuple[str, SigmaDocument]]:
    defined_by: dict[str, int] = {}
    for index, (_, doc) in enumerate(correlations):
        for reference in (doc.sigma_id, doc.name):
            if reference:
                defined_by.setdefault(reference, index)
    needs = [
        {defined_by[name] for name in referenced_names(doc) if name in defined_by} - {index}
        for index, (_, doc) in enumerate(correlations)
    ]
    placed: list[int] = []
    done: set[int] = set()
    while len(placed) < len(correlations):
        ready = [i for i in range(len(correlations)) if i not in done and needs[i] <= done]
        if not ready:  # a cycle: the rest in file order, to fail where they are
            ready = [i for i in range(len(correlations)) if i not in done]
        placed.extend(ready)
        done.update(ready)
    return [correlations[i] for i in placed]


def _import_one(
    where: str,
    doc: SigmaDocument,
    report: ImportReport,
    *,
    actor: User | None,
    active: bool | None,
    team: Any,
    pending: dict[str, str],
) -> None:
    status = str(doc.data.get("status") or "").lower()
    label = f"{where}:{doc.first_line}"
    if status in SKIPPED_STATUSES:
        report.skipped.append((label, f"status is {status}"))
        return
    try:
        with transaction.atomic():
            result = save_document(
                doc, actor=actor, is_active=active, team=team, origin=where, pending=pending
            )
    except RuleUnsupported as exc:
        report.skipped.append((label, str(exc)))
        return
    except RuleInvalid as exc:
        for problem in exc.problems:
            report.errors.append((f"{where}:{problem.line or doc.first_line}", problem.message))
        return
    rule = result.rule
    for reference in (doc.sigma_id, doc.name):
        if reference:
            pending[reference] = str(rule.pk)
    if result.outcome == "imported":
        report.imported += 1
    elif result.outcome == "updated":
        report.updated += 1
    else:
        report.unchanged += 1
