"""The layer contracts (pyproject.toml, [tool.importlinter]): the code keeps them, and each
one fails on a single import added against it, in a copy of the code."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from scripts.processes import BIN
from tests.conftest import ROOT

PACKAGES = ("socapp", "events", "correlation", "incidents", "assets", "intel")
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]


def contract(contract_id: str) -> dict:
    (found,) = [c for c in CONTRACTS if c["id"] == contract_id]
    return found


ROOF = contract("roof")["forbidden_modules"][0]  # socapp.roof


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    # Without PYTHONPATH: the packages are found in `cwd` (lint-imports puts it first).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def python_files_only(directory: str, names: list[str]) -> set[str]:
    """What `copytree` leaves out: all but the packages and their modules."""
    return {
        name
        for name in names
        if name == "__pycache__" or not (name.endswith(".py") or Path(directory, name).is_dir())
    }


def broken_report(stdout: str, name: str) -> str:
    """What lint-imports says under the heading of the broken contract ``name``."""
    section = stdout.split("Broken contracts", 1)[1].split(f"\n{name}\n", 1)[1]
    for other in CONTRACTS:
        section = section.split(f"\n{other['name']}\n", 1)[0]
    return section


def test_the_code_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("importer", "line", "broken"),
    [
        # an app importing one above it
        ("events.selectors", "import incidents.services", "apps"),
        # sibling apps on one layer stay independent
        ("assets.selectors", "import intel.selectors", "apps"),
        # another app's models, not its selectors (the direction itself is allowed)
        ("incidents.views.alerts", "from correlation.models import CorrelationRule", "models"),
        # the floor importing an app
        ("socapp.audit", "import events.selectors", "floor"),
        # the floor importing the roof
        ("socapp.models", f"import {ROOF}", "roof"),
    ],
)
def test_one_import_against_a_contract_breaks_it(
    tmp_path: Path, importer: str, line: str, broken: str
) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=python_files_only)
    with (tmp_path / f"{importer.replace('.', '/')}.py").open("a") as module:
        module.write(f"\n{line}\n")

    result = lint_imports(tmp_path)

    # (Others may break too: an import into the floor reaches every app above it.)
    assert result.returncode == 1, result.stdout + result.stderr
    name = contract(broken)["name"]
    assert f"{name} BROKEN" in result.stdout
    imported = line.split()[1]
    assert f"{importer} -> {imported}" in broken_report(result.stdout, name)
