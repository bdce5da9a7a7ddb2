"""The type check bites: a service written without annotations fails `make typecheck`.

All application code must be annotated; services, selectors, the correlation engine,
Sigma and the parsers are held to more (pyproject.toml). A throwaway app is checked with
the project's configuration (and its warm cache: `make test` type-checks the tree first):
its untyped service is refused, and so is a bare ``dict`` there, which a view may return.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

UNTYPED_SERVICE = """
from socapp.audit import audit_record


def thing_close(*, thing, actor):
    audit_record(actor=actor, action="thing.close", target=thing)
    return thing


def thing_counts() -> dict:
    return {}
"""

VIEW = """
def thing_page() -> dict:
    return {}
"""

TYPED_SELECTOR = """
from socapp.users import User


def thing_names_for(user: User) -> list[str]:
    return [user.get_username()]
"""


def test_an_untyped_service_fails_the_type_check(tmp_path: Path) -> None:
    app = tmp_path / "probe"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "services.py").write_text(UNTYPED_SERVICE)
    (app / "selectors.py").write_text(TYPED_SELECTOR)
    (app / "views.py").write_text(VIEW)
    files = [str(app / name) for name in ("services.py", "selectors.py", "views.py")]
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = checked.stdout + checked.stderr
    assert checked.returncode == 1, report
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert errors, report
    assert all(line.startswith(str(app / "services.py")) for line in errors), report
    assert "Function is missing a type annotation  [no-untyped-def]" in report
    assert 'Missing type arguments for generic type "dict"  [type-arg]' in report
