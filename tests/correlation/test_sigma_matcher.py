"""Sigma detection semantics, value by value: the test vectors of the research notes
(mission.md §5.9) and the modifier appendix of the specification."""

from __future__ import annotations

import base64

import pytest
from sigma.rule import SigmaRule

from correlation.sigma.documents import RuleInvalid, parse_documents
from correlation.sigma.matcher import EventView, compile_rule
from correlation.sigma.prefilter import Prefilter, detections_need
from correlation.sigma.values import Predicate


def rule(detection: str, logsource: str = "{product: windows}") -> Predicate:
    text = f"title: t\nlogsource: {logsource}\ndetection:\n{detection}"
    sigma = parse_documents(text)[0].sigma
    assert isinstance(sigma, SigmaRule)
    predicate = compile_rule(sigma)
    prefilter = Prefilter([detections_need(sigma.detection)])

    def checked(view: EventView) -> bool:
        matched = predicate(view)
        # every case here is a case the prefilter must let through (never drop a match)
        assert not matched or prefilter.select(view) == 1, "the prefilter dropped a match"
        return matched

    return checked


def matches(detection: str, event: dict, raw: str = "") -> bool:
    return rule(detection)(EventView(event, raw))


@pytest.mark.parametrize(
    ("value", "field", "expected"),
    [
        (r"'a\*b'", "a*b", True),  # \* is a literal star
        (r"'a\*b'", "axxb", False),
        (r"'a\\*'", "a\\anything", True),  # \\* is a backslash, then the wildcard
        (r"'a\\*'", "a\\", True),
        (r"'a\\\*'", "a\\*", True),  # \\\* is a backslash and a literal star
        (r"'a\\\*'", "a\\xyz", False),
        (r"'C:\Windows\Sys*'", "c:\\windows\\system32", True),  # a plain \ stays literal
        (r"'C:\Windows\*'", "c:\\windows\\system32", False),  # \* escapes the star
        ("'ab?d'", "abcd", True),
        ("'ab?d'", "abd", False),
    ],
)
def test_wildcards_and_escaping(value: str, field: str, expected: bool) -> None:
    assert matches(f"  sel:\n    F: {value}\n  condition: sel", {"F": field}) is expected


def test_strings_compare_case_insensitively_unless_cased() -> None:
    assert matches("  sel:\n    F: PowerShell\n  condition: sel", {"F": "powershell"})
    assert not matches("  sel:\n    F|cased: PowerShell\n  condition: sel", {"F": "powershell"})
    assert matches("  sel:\n    F|cased: PowerShell\n  condition: sel", {"F": "PowerShell"})


def test_whole_value_unless_a_modifier_says_otherwise() -> None:
    assert not matches("  sel:\n    F: cmd\n  condition: sel", {"F": "cmd.exe"})
    assert matches("  sel:\n    F|startswith: cmd\n  condition: sel", {"F": "cmd.exe"})
    assert matches("  sel:\n    F|endswith: .EXE\n  condition: sel", {"F": "cmd.exe"})
    assert matches("  sel:\n    F|contains: d.e\n  condition: sel", {"F": "cmd.exe"})


def test_null_empty_and_exists_are_three_different_things() -> None:
    null = "  sel:\n    F: null\n  condition: sel"
    empty = "  sel:\n    F: ''\n  condition: sel"
    exists = "  sel:\n    F|exists: true\n  condition: sel"
    missing = "  sel:\n    F|exists: false\n  condition: sel"
    assert matches(null, {}) and matches(null, {"F": None}) and not matches(null, {"F": ""})
    assert matches(empty, {"F": ""}) and not matches(empty, {})
    assert matches(exists, {"F": ""}) and not matches(exists, {})
    assert matches(missing, {}) and not matches(missing, {"F": "x"})


def test_lists_are_or_and_all_makes_them_and() -> None:
    assert matches("  sel:\n    F|contains: [a, z]\n  condition: sel", {"F": "abc"})
    assert not matches("  sel:\n    F|contains|all: [a, z]\n  condition: sel", {"F": "abc"})
    assert matches("  sel:\n    F|contains|all: [a, c]\n  condition: sel", {"F": "abc"})


def test_map_items_are_and_and_a_list_of_maps_is_or() -> None:
    both = "  sel:\n    A: 1\n    B: 2\n  condition: sel"
    either = "  sel:\n    - A: 1\n    - B: 2\n  condition: sel"
    assert not matches(both, {"A": 1, "B": 3}) and matches(both, {"A": 1, "B": 2})
    assert matches(either, {"A": 1, "B": 3})


def test_selector_patterns_skip_underscore_identifiers() -> None:
    detection = (
        "  selection_a:\n    A: 1\n  selection_b:\n    B: 1\n  _selection_c:\n    C: 1\n"
        "  condition: 1 of selection_*"
    )
    assert matches(detection, {"A": 1}) and not matches(detection, {"C": 1})
    them = detection.replace("1 of selection_*", "all of them")
    assert matches(them, {"A": 1, "B": 1})  # _selection_c is not part of "them"


def test_precedence_or_is_loosest_then_and_then_not() -> None:
    detection = "  a:\n    A: 1\n  b:\n    B: 1\n  c:\n    C: 1\n  condition: a or b and not c"
    assert matches(detection, {"A": 1, "C": 1})  # a or (b and not c)
    assert not matches(detection, {"B": 1, "C": 1})
    assert matches(detection, {"B": 1})


def test_windash_expands_every_dash_to_five_characters() -> None:
    detection = "  sel:\n    F|windash|contains: ' -a -b'\n  condition: sel"
    for first in "-/\u2013\u2014\u2015":
        for second in "-/\u2013\u2014\u2015":
            assert matches(detection, {"F": f"x {first}a {second}b"})
    assert not matches(detection, {"F": "x +a +b"})


@pytest.mark.parametrize("word", ["cmd", "powershell"])
@pytest.mark.parametrize("prefix", ["", "x", "xy"])
def test_base64offset_finds_the_word_at_any_offset(word: str, prefix: str) -> None:
    detection = f"  sel:\n    F|base64offset|contains: {word}\n  condition: sel"
    encoded = base64.b64encode(f"{prefix}{word} -c whoami".encode()).decode()
    assert matches(detection, {"F": f"powershell -enc {encoded}"})
    assert not matches(detection, {"F": base64.b64encode(b"nothing here").decode()})


def test_wide_base64_is_utf16le_then_base64() -> None:
    detection = "  sel:\n    F|wide|base64: ping\n  condition: sel"
    assert matches(detection, {"F": base64.b64encode("ping".encode("utf-16-le")).decode()})
    assert not matches(detection, {"F": base64.b64encode(b"ping").decode()})


def test_cidr_for_ipv4_and_ipv6() -> None:
    detection = "  sel:\n    ip|cidr: ['10.0.0.0/8', '2001:db8::/32']\n  condition: sel"
    assert matches(detection, {"ip": "10.1.2.3"}) and matches(detection, {"ip": "2001:db8::1"})
    assert not matches(detection, {"ip": "11.0.0.1"}) and not matches(detection, {"ip": "bad"})


def test_fieldref_compares_two_fields_of_the_event() -> None:
    detection = "  sel:\n    A|fieldref: B\n  condition: sel"
    assert matches(detection, {"A": "Admin", "B": "admin"})
    assert not matches(detection, {"A": "Admin", "B": "root"})


def test_regex_is_case_sensitive_unless_i_and_searches_unanchored() -> None:
    assert matches("  sel:\n    F|re: 'b+c'\n  condition: sel", {"F": "abbbcd"})
    assert not matches("  sel:\n    F|re: 'B+C'\n  condition: sel", {"F": "abbbcd"})
    assert matches("  sel:\n    F|re|i: 'B+C'\n  condition: sel", {"F": "abbbcd"})
    assert not matches("  sel:\n    F|re: '^b'\n  condition: sel", {"F": "ab"})


def test_numeric_comparisons_and_numbers_given_as_text() -> None:
    assert matches("  sel:\n    port|gte: 1024\n  condition: sel", {"port": "8080"})
    assert not matches("  sel:\n    port|lt: 1024\n  condition: sel", {"port": 8080})
    assert matches("  sel:\n    EventID: 4625\n  condition: sel", {"EventID": "4625"})


def test_keywords_search_the_raw_log_and_every_value() -> None:
    detection = "  keywords:\n    - 'Failed password'\n  condition: keywords"
    assert matches(detection, {}, raw="sshd[1]: Failed password for root")
    assert matches(detection, {"message": "failed PASSWORD for x"})
    assert not matches(detection, {"message": "Accepted password"})


@pytest.mark.parametrize(
    ("keywords", "event", "raw", "expected"),
    [
        (["'session opened*root'"], {"m": "pam: session opened for user ROOT"}, "", True),
        # a wildcard never spans two values
        (["'session opened*root'"], {"a": "session opened", "b": "root"}, "", False),
        (["'user ?oot'"], {"m": "user root"}, "", True),
        (["'user ?oot'"], {"m": "user  oot"}, "", True),
        (["'user ?oot'"], {"m": "user oot"}, "", False),
        (["'*.exe -enc *'"], {}, "cmd: X.EXE -ENC aGk=", True),
        (["'alpha'", "'beta*gamma'", "'delta'"], {"x": ["z", "Beta and Gamma"]}, "", True),
        (["'alpha'", "'beta*gamma'", "'delta'"], {"x": ["beta", "gamma"]}, "", False),
        (["'a\\*b'"], {"m": "xa*by"}, "", True),  # an escaped star is a literal
        (["'a\\*b'"], {"m": "axxb"}, "", False),
        (["'|cased'"], {"m": "|CASED"}, "", True),  # keywords are case-insensitive
    ],
)
def test_keyword_lists_wildcards_and_values(keywords, event, raw, expected) -> None:
    listed = "".join(f"\n    - {k}" for k in keywords)
    assert matches(f"  keywords:{listed}\n  condition: keywords", event, raw) is expected


def test_lists_in_the_event_match_when_any_value_does() -> None:
    assert matches("  sel:\n    tags: beta\n  condition: sel", {"tags": ["alpha", "beta"]})


def test_nested_ecs_fields_are_reached_by_their_dotted_name() -> None:
    detection = "  sel:\n    source.ip|cidr: 192.0.2.0/24\n  condition: sel"
    assert matches(detection, {"source": {"ip": "192.0.2.7"}})


HEAD = "title: t\nlogsource: {product: linux}\ndetection:\n"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            HEAD + "  sel:\n    F|nope: 1\n  condition: sel\n",
            5,
            "Unknown modifier",
        ),
        (
            HEAD + "  sel:\n    F: 1\n  condition: sel and other\n",
            6,
            "other",
        ),
        (
            HEAD + "  sel:\n    F|re: '(('\n  condition: sel\n",
            5,
            "invalid",
        ),
        (HEAD + "  sel: [\n", 5, "not valid YAML"),
        (
            "title: t\nlevel: severe\n" + HEAD[9:] + "  sel:\n    F: 1\n  condition: sel\n",
            2,
            "level",
        ),
    ],
)
def test_invalid_rules_are_rejected_at_the_line_at_fault(text: str, line: int, reason: str) -> None:
    with pytest.raises(RuleInvalid) as caught:
        parse_documents(text)
    problem = caught.value.problems[0]
    assert problem.line == line, problem
    assert reason.lower() in problem.message.lower()


PLACEHOLDER_RULE = (
    "  admins:\n    Computer|expand: '%Admins_Workstations%'\n"
    "  logon:\n    EventID: 4624\n  condition: logon and not admins"
)


def test_expand_placeholders_take_their_configured_values(settings) -> None:
    settings.SIGMA_PLACEHOLDERS = {"Admins_Workstations": ["ADMIN-PC1", "jump-*"]}
    assert not matches(PLACEHOLDER_RULE, {"EventID": 4624, "Computer": "admin-pc1"})
    assert not matches(PLACEHOLDER_RULE, {"EventID": 4624, "Computer": "JUMP-07"})
    assert matches(PLACEHOLDER_RULE, {"EventID": 4624, "Computer": "ws-42"})


def test_a_placeholder_without_a_value_is_refused_by_name(settings) -> None:
    from correlation.sigma.values import CompileError

    settings.SIGMA_PLACEHOLDERS = {}
    with pytest.raises(CompileError, match="%Admins_Workstations% has no value"):
        rule(PLACEHOLDER_RULE)


@pytest.mark.django_db
def test_sigmahqs_placeholder_rules_import_once_their_values_are_set(settings, reference_data):
    import re

    from correlation.services import import_rules
    from socapp.shared_data import shared_data_dir

    folder = shared_data_dir() / "sigma" / "rules-placeholder"
    names = {
        m.group(1)
        for path in folder.rglob("*.yml")
        for m in re.finditer(r"%([A-Za-z_-]+)%", path.read_text())
    }
    settings.SIGMA_PLACEHOLDERS = {}
    without = import_rules([folder], actor=None, active=False)
    assert without.imported == 0 and without.errors == []
    assert all("has no value" in reason for _, reason in without.skipped)
    settings.SIGMA_PLACEHOLDERS = {name: ["example-value"] for name in names}
    report = import_rules([folder], actor=None, active=False)
    assert report.errors == [] and report.skipped == []
    assert report.imported == len(without.skipped)
