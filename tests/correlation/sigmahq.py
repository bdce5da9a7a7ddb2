"""SigmaHQ material from the shared data folder (read in place, never copied)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from socapp.shared_data import shared_data_dir

SIGMA = shared_data_dir() / "sigma"
REGRESSION = SIGMA / "regression_data"
RULE_FOLDERS = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-compliance"]


@dataclass(frozen=True)
class RegressionCase:
    rule_id: str
    title: str
    evtx: Path
    match_count: int | None


def regression_cases() -> list[RegressionCase]:
    cases = []
    for info in sorted(REGRESSION.rglob("info.yml")):
        data = yaml.safe_load(info.read_text())
        meta = data["rule_metadata"][0]
        for test in data.get("regression_tests_info") or []:
            if test.get("type") == "evtx":
                path = info.parent / Path(test["path"]).name
                cases.append(
                    RegressionCase(meta["id"], meta["title"], path, test.get("match_count"))
                )
    return cases


def rule_files_by_id() -> dict[str, Path]:
    """Sigma id -> the rule file in SigmaHQ's tree (read from the files' ``id:`` lines)."""
    found: dict[str, Path] = {}
    for folder in RULE_FOLDERS:
        for path in (SIGMA / folder).rglob("*.yml"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("id: "):
                    found[line[4:].strip()] = path
                    break
    return found


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
