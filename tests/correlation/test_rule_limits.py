"""A pasted or imported rule costs a bounded amount of work whatever it holds: YAML
anchors and aliases (a "billion laughs" rule) are refused before anything walks the
document, and size, depth, values, documents, condition and references are bounded by
settings named in the error — through the rule tester every role may call, the rule API,
the editor page and ``import_sigma``.

Work is counted, never timed: the Python function calls made while a request is handled
(``sys.setprofile``) and the peak memory allocated (``tracemalloc``)."""

from __future__ import annotations

import json
import sys
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command

from correlation.models import CorrelationRule
from tests.conftest import client_for

from .sigmahq import SIGMA
from .test_rule_pages import browser

TEST_URL, RULES = "/api/v1/rules/test/", "/api/v1/rules/"
EVENT = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": "x"}
HEAD = """title: Bounded
id: {id}
status: test
logsource:
  product: windows
  category: process_creation
"""
ORDINARY = (
    HEAD
    + """detection:
  selection:
    Image|endswith: '\\\\whoami.exe'
  condition: selection
level: high
"""
)


def alias_bomb(levels: int) -> str:
    """A ~500-byte rule whose aliases stand for 10**levels strings (nine levels: a
    billion), hidden in ``falsepositives`` where nothing but a walk would meet them."""
    lines = [
        HEAD.format(id=uuid.uuid4()).rstrip("\n"),
        "detection:",
        "  selection:",
        "    Image: x",
        "  condition: selection",
        "falsepositives:",
        '  - &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    for level in range(1, levels):
        lines.append(f"  - &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


ALIAS_LINE = 12  # the first anchor, in every alias_bomb


@dataclass
class Work:
    calls: int = 0  # Python and C function calls made
    peak_bytes: int = 0  # the most memory allocated at once


@contextmanager
def counted() -> Iterator[Work]:
    work = Work()

    def profile(frame, event, arg):
        if event in ("call", "c_call"):
            work.calls += 1

    tracemalloc.start()
    sys.setprofile(profile)
    try:
        yield work
    finally:
        sys.setprofile(None)
        work.peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def work_of(request: Callable[[], Any]) -> tuple[Any, Work]:
    request()  # warm: imports, caches and the first-query costs are not the rule's
    with counted() as work:
        response = request()
    return response, work


def problem_at(response, line: int | None, *words: str) -> None:
    assert response.status_code == 400, response.content
    problems = response.data["problems"]
    assert problems[0]["line"] == line, problems
    assert all(word in problems[0]["message"] for word in words), problems


# ---- aliases: every way in ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("levels", [6, 9])  # 10**6 and 10**9 strings
def test_the_auditor_tests_an_alias_bomb_and_it_costs_less_than_an_ordinary_rule(
    auditor, levels
) -> None:
    client = client_for(auditor)
    bomb = alias_bomb(levels)
    assert len(bomb.encode()) < 800

    def send(text: str):
        return lambda: client.post(TEST_URL, {"definition": text, "event": EVENT}, format="json")

    response, work = work_of(send(bomb))
    problem_at(response, ALIAS_LINE, "YAML anchors", "not accepted")
    ordinary, ordinary_work = work_of(send(ORDINARY.format(id=uuid.uuid4())))
    assert ordinary.status_code == 200, ordinary.data
    # refused from the event stream: fewer calls than parsing, building and matching an
    # ordinary rule, and under 1 MiB at most (walking 10**6 aliases alone is 10**6 calls
    # and keeps a line number for each)
    assert work.calls < ordinary_work.calls < 10**6, (work, ordinary_work)
    assert work.peak_bytes < 2**20, work


@pytest.mark.django_db
def test_an_admin_cannot_save_an_alias_bomb(soc_admin) -> None:
    client = client_for(soc_admin)
    response, work = work_of(
        lambda: client.post(RULES, {"definition": alias_bomb(6)}, format="json")
    )
    problem_at(response, ALIAS_LINE, "YAML anchors")
    assert work.calls < 10**5 and work.peak_bytes < 2**20, work
    assert not CorrelationRule.objects.exists()


@pytest.mark.django_db
def test_a_plain_alias_is_refused_at_its_line(soc_admin) -> None:
    text = ORDINARY.format(id=uuid.uuid4()).replace(
        "level: high", "level: high\nx-note: &n one\nx-again: *n"
    )
    response = client_for(soc_admin).post(RULES, {"definition": text}, format="json")
    problem_at(response, 12, "YAML anchors (&n)")


@pytest.mark.django_db
def test_the_editor_refuses_an_alias_bomb_at_its_line(soc_admin) -> None:
    editor = browser(soc_admin)
    for action in ("save", "try"):
        data = {"definition": alias_bomb(9), action: "1", "event": '{"Image": "x"}'}
        response = editor.post("/rules/new/", data)
        assert response.status_code == 400
        text = response.content.decode()
        assert f'id="line-{ALIAS_LINE}" value="{ALIAS_LINE}" class="bad"' in text
        assert "YAML anchors (&amp;l0) are not accepted" in text
    assert not CorrelationRule.objects.exists()


@pytest.mark.django_db
def test_import_sigma_reports_an_alias_bomb_and_imports_the_rest(tmp_path, capsys) -> None:
    (tmp_path / "bomb.yml").write_text(alias_bomb(9))
    (tmp_path / "fine.yml").write_text(ORDINARY.format(id=uuid.uuid4()))
    with pytest.raises(SystemExit) as exit_status:
        call_command("import_sigma", str(tmp_path))
    assert exit_status.value.code == 1
    out, err = capsys.readouterr()
    assert "imported 1," in out and "errors 1" in out
    assert f"bomb.yml:{ALIAS_LINE}: YAML anchors (&l0) are not accepted" in err
    assert CorrelationRule.objects.get().name == "Bounded"


# ---- size, depth, values, documents, condition, references ---------------------------------


@pytest.mark.django_db
def test_a_rule_past_rule_max_bytes_is_refused_naming_the_setting(auditor) -> None:
    padding = "# " + "x" * 1022 + "\n"
    text = ORDINARY.format(id=uuid.uuid4()) + padding * 513  # just over 512 KiB
    response = client_for(auditor).post(
        TEST_URL, {"definition": text, "event": EVENT}, format="json"
    )
    problem_at(response, None, "RULE_MAX_BYTES (524,288)")


@pytest.mark.django_db
def test_the_limits_are_settings(auditor, settings) -> None:
    settings.RULE_MAX_BYTES = 200
    text = ORDINARY.format(id=uuid.uuid4())
    response = client_for(auditor).post(
        TEST_URL, {"definition": text, "event": EVENT}, format="json"
    )
    size = len(text.strip())  # the API trims the definition's surrounding whitespace
    problem_at(response, None, f"is {size} bytes", "RULE_MAX_BYTES (200)")


@pytest.mark.django_db
def test_yaml_nested_too_deep_is_refused_at_the_line(auditor) -> None:
    deep = "x-deep:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(20)) + "  " * 21 + "v\n"
    text = ORDINARY.format(id=uuid.uuid4()) + deep
    response = client_for(auditor).post(
        TEST_URL, {"definition": text, "event": EVENT}, format="json"
    )
    # the document is level 1, x-deep's mapping (k0, line 13) level 2: the 17th is k15's
    problem_at(response, 28, "RULE_MAX_DEPTH (16)")


@pytest.mark.django_db
def test_too_many_values_are_refused_at_the_line_past_the_limit(auditor, settings) -> None:
    settings.RULE_MAX_VALUES = 50
    values = "".join(f"      - v{i}\n" for i in range(60))
    text = HEAD.format(id=uuid.uuid4()) + (
        f"detection:\n  selection:\n    Image:\n{values}  condition: selection\n"
    )
    response = client_for(auditor).post(
        TEST_URL, {"definition": text, "event": EVENT}, format="json"
    )
    # 14 scalars (keys and values) above the list, which starts at line 10: the 51st
    # scalar is its 37th item
    problem_at(response, 9 + 37, "RULE_MAX_VALUES (50)")


@pytest.mark.django_db
def test_values_that_windash_would_multiply_count_as_expanded(auditor) -> None:
    """80 values with three dashes each are 80 lines, but 10,000 strings once windash
    gives every dash its five forms: within the limit. 81 are over it, refused before
    pySigma makes any of them."""
    for count, accepted in ((80, True), (81, False)):
        values = "".join(f"      - ' -a{i} -b -c'\n" for i in range(count))
        text = HEAD.format(id=uuid.uuid4()) + (
            f"detection:\n  selection:\n    CommandLine|windash|contains:\n{values}"
            "  condition: selection\n"
        )
        response = client_for(auditor).post(
            TEST_URL, {"definition": text, "event": EVENT}, format="json"
        )
        if accepted:
            assert response.status_code == 200, response.data
        else:
            problem_at(response, 8, "RULE_MAX_VALUES (10,000)", "windash")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("not " * 300 + "selection", "RULE_MAX_DEPTH (16)"),  # was a RecursionError: a 500
        ("(selection and " * 20 + "selection" + ")" * 20, "RULE_MAX_DEPTH (16)"),
        (" or ".join(["selection"] * 300), "RULE_MAX_CONDITION_TOKENS (500)"),
    ],
)
def test_a_condition_too_long_or_deep_is_refused_at_its_line(auditor, condition, words) -> None:
    text = HEAD.format(id=uuid.uuid4()) + (
        f"detection:\n  selection:\n    Image: x\n  condition: {condition}\n"
    )
    response = client_for(auditor).post(
        TEST_URL, {"definition": text, "event": EVENT}, format="json"
    )
    problem_at(response, 10, words)


@pytest.mark.django_db
def test_a_correlation_naming_too_many_rules_is_refused_before_any_lookup(
    soc_admin, settings, django_assert_max_num_queries
) -> None:
    settings.RULE_MAX_REFERENCES = 5
    names = "".join(f"    - rule_{i}\n" for i in range(6))
    text = (
        "title: c\nlevel: high\ncorrelation:\n  type: event_count\n  rules:\n"
        f"{names}  group-by: [user.name]\n  timespan: 5m\n  condition: {{gte: 3}}\n"
    )
    client = client_for(soc_admin)
    with django_assert_max_num_queries(3):  # the session's user; no rule lookups
        response = client.post(RULES, {"definition": text}, format="json")
    problem_at(response, 5, "names 6 rules", "RULE_MAX_REFERENCES (5)")


@pytest.mark.django_db
def test_import_refuses_files_with_too_many_documents_or_bytes(tmp_path, settings, capsys):
    settings.RULE_MAX_DOCUMENTS = 3
    many = "---\n".join(ORDINARY.format(id=uuid.uuid4()) for _ in range(4))
    (tmp_path / "many.yml").write_text(many)
    huge = tmp_path / "huge.yml"
    huge.write_text(ORDINARY.format(id=uuid.uuid4()) + "# " + "x" * settings.RULE_MAX_BYTES)
    with pytest.raises(SystemExit):
        call_command("import_sigma", str(tmp_path))
    err = capsys.readouterr().err
    assert "many.yml:36: more than RULE_MAX_DOCUMENTS (3) documents" in err
    assert f"huge.yml: the rule text is {huge.stat().st_size:,} bytes" in err
    assert not CorrelationRule.objects.exists()


@pytest.mark.django_db
def test_sigmahqs_largest_rule_imports_within_the_default_limits(capsys) -> None:
    """driver_load_win_vuln_drivers.yml: 295 kB, 4,467 values — the most of any SigmaHQ
    rule, and no SigmaHQ file uses an anchor or an alias."""
    path = SIGMA / "rules/windows/driver_load/driver_load_win_vuln_drivers.yml"
    assert path.stat().st_size > 250_000
    call_command("import_sigma", str(path))
    assert "imported 1, updated 0, unchanged 0, skipped 0, errors 0" in capsys.readouterr().out


@pytest.mark.django_db
def test_a_pasted_event_past_its_limit_is_refused_naming_the_setting(auditor, soc_admin) -> None:
    event = {**EVENT, "CommandLine": "a" * (64 * 1024)}
    text = ORDINARY.format(id=uuid.uuid4())
    response = client_for(auditor).post(
        TEST_URL, {"definition": text, "event": event}, format="json"
    )
    assert response.status_code == 400
    assert "RULE_TEST_MAX_EVENT_BYTES (65,536)" in response.data["event"][0]
    page = browser(soc_admin).post(
        "/rules/new/", {"definition": text, "try": "1", "event": json.dumps(event)}
    )
    assert page.status_code == 400
    assert "RULE_TEST_MAX_EVENT_BYTES (65,536)" in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("x-big: " + "1" * 5000, "a value cannot be read: Exceeds the limit (4300 digits)"),
        ("x-object: !!python/object:os.system [ls]", "could not determine a constructor"),
        ("? [a, b]\n: c", "not valid YAML"),
    ],
)
def test_odd_yaml_is_a_400_naming_the_problem_never_a_500(auditor, extra, words) -> None:
    text = ORDINARY.format(id=uuid.uuid4()) + extra + "\n"
    response = client_for(auditor).post(
        TEST_URL, {"definition": text, "event": EVENT}, format="json"
    )
    assert response.status_code == 400, response.content
    assert words in response.data["problems"][0]["message"], response.data
