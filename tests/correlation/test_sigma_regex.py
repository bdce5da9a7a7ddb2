"""Regular expressions in rules run on RE2, in time linear in the text: the classic
catastrophic-backtracking patterns are accepted and answer on 100 kB of input, what needs
backtracking (backreferences, lookaround) is refused at its line with the reason, and
Sigma's ``|i``, ``|m``, ``|s`` keep their meaning. The same holds for the patterns
Sigma's wildcards become (``*a*a*a*...``) and for the rule tester every role may call."""

from __future__ import annotations

import json

import pytest
import re2
from sigma.rule import SigmaRule
from sigma.types import SigmaRegularExpression, SigmaRegularExpressionFlag, SigmaString

from correlation.sigma.documents import parse_documents
from correlation.sigma.matcher import EventView, compile_rule
from correlation.sigma.regex import LinearRegex
from correlation.sigma.sql import rule_condition
from correlation.sigma.values import Predicate, compile_regex, text_test
from tests.conftest import client_for

TEST_URL = "/api/v1/rules/test/"
HUNDRED_KB = 100_000


def rule_text(selection: str) -> str:
    return (
        "title: t\nlogsource: {product: windows}\ndetection:\n"
        f"  sel:\n    {selection}\n  condition: sel\n"
    )


def detection(text: str) -> SigmaRule:
    sigma = parse_documents(text)[0].sigma
    assert isinstance(sigma, SigmaRule)
    return sigma


def matcher(selection: str) -> Predicate:
    return compile_rule(detection(rule_text(selection)))


# Each: the pattern, a 100 kB text it must not match (exponential or high-polynomial for a
# backtracking engine: Python's ``re`` would not finish), and one it must match.
EVIL = [
    (r"(a+)+$", "a" * HUNDRED_KB + "b", "a" * HUNDRED_KB),
    (r"(a|aa)+$", "a" * HUNDRED_KB + "b", "b" + "a" * HUNDRED_KB),
    (r"(.*a){20}", "a" * 19 + "b" * HUNDRED_KB, "b" * HUNDRED_KB + "a" * 20),
    (r"^(\w+\s?)*$", "word " * (HUNDRED_KB // 5) + "!", "word " * (HUNDRED_KB // 5)),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("pattern", "miss", "hit"), EVIL)
def test_catastrophic_patterns_run_on_re2_and_answer_on_100_kb(pattern, miss, hit) -> None:
    compiled = compile_regex(SigmaRegularExpression(pattern))
    assert isinstance(compiled, LinearRegex)
    assert isinstance(compiled.engine, re2._Regexp)  # RE2 runs it, not Python's re
    predicate = matcher(f"CommandLine|re: '{pattern}'")
    assert predicate(EventView({"CommandLine": miss})) is False
    assert predicate(EventView({"CommandLine": hit})) is True


@pytest.mark.django_db
@pytest.mark.parametrize(("pattern", "miss", "hit"), EVIL)
def test_the_rule_tester_answers_evil_patterns(auditor, pattern, miss, hit) -> None:
    """As the auditor, through the API, on the largest event the tester takes."""
    client = client_for(auditor)
    for text, expected in ((miss, False), (hit, True)):
        event = {"CommandLine": text[-60_000:]}  # the end, where each one is decided
        response = client.post(
            TEST_URL,
            {"definition": rule_text(f"CommandLine|re: '{pattern}'"), "event": event},
            format="json",
        )
        assert response.status_code == 200, response.data
        assert response.data["detection_matches"] is expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "uses a backreference"),
        (r"(?P<x>a)(?P=x)", "uses a named backreference"),
        (r"(?=admin)\w+", "uses lookaround"),
        (r"(?<!\\)cmd", "uses lookaround"),
        (r"(?>a+)b", "uses an atomic group"),
        (r"a++b", "uses a possessive repeat"),
    ],
)
def test_what_needs_backtracking_is_refused_at_its_line_with_the_reason(
    analyst_a, pattern, reason
) -> None:
    text = rule_text("Image: x\n    CommandLine|re: '" + pattern + "'")
    response = client_for(analyst_a).post(
        TEST_URL, {"definition": text, "event": {"Image": "x"}}, format="json"
    )
    assert response.status_code == 400
    problem = response.data["problems"][0]
    assert problem["line"] == 6, problem
    assert f"regular expression '{pattern}' {reason}" in problem["message"]
    assert "needs backtracking" in problem["message"] and "RE2" in problem["message"]


@pytest.mark.django_db
def test_sigma_regex_flags_keep_their_meaning() -> None:
    cases = [
        ("F|re: '^b'", "a\nb", False),
        ("F|re|m: '^b'", "a\nb", True),  # multiline: ^ at every line
        ("F|re: 'a.b'", "a\nb", False),
        ("F|re|s: 'a.b'", "a\nb", True),  # dotall: . takes a newline
        ("F|re: 'ADMIN'", "admin", False),
        ("F|re|i: 'ADMIN'", "Admin", True),
        ("F|re|i: 'STRASSE|Ä'", "ä", True),  # case folding beyond ASCII
    ]
    for selection, value, expected in cases:
        assert matcher(selection)(EventView({"F": value})) is expected, selection
    flags = {SigmaRegularExpressionFlag.IGNORECASE, SigmaRegularExpressionFlag.MULTILINE}
    regex = SigmaRegularExpression("^x")
    regex.flags = flags
    assert compile_regex(regex).engine.pattern == "(?im)^x"


@pytest.mark.django_db
def test_many_wildcards_compile_to_re2_and_answer_on_100_kb() -> None:
    """``*a*a*...*b`` became ``.*a.*a...`` for Python's re: polynomial of degree twenty
    in the length of the value. On RE2 it answers like any other pattern."""
    value = "*" + "a*" * 20 + "b"
    kind, needle = text_test(SigmaString(value), lower=True)
    assert kind == "regex" and isinstance(needle.engine, re2._Regexp)
    field = matcher(f"F: '{value}'")
    assert field(EventView({"F": "a" * HUNDRED_KB})) is False
    assert field(EventView({"F": "a" * HUNDRED_KB + "b"})) is True
    keywords = compile_rule(
        detection(
            "title: t\nlogsource: {product: windows}\ndetection:\n"
            f"  keywords:\n    - '{value}'\n  condition: keywords\n"
        )
    )
    assert keywords(EventView({"m": "a" * HUNDRED_KB})) is False
    assert keywords(EventView({"m": "xx" + "a" * HUNDRED_KB + "bxx"})) is True
    # wildcards still never cross from one value into the next
    assert keywords(EventView({"m": "a" * 40, "n": "b"})) is False


@pytest.mark.django_db
def test_backtests_never_push_a_regex_or_a_wildcard_chain_into_postgresql() -> None:
    """PostgreSQL's ``~`` backtracks; LIKE with many ``%`` is quadratic. Neither is
    pushed down: the condition keeps only the logsource, the matcher (RE2) decides."""
    for selection in ("CommandLine|re: '(a+)+$'", "CommandLine: '*a*a*a*a*a*a*b'"):
        condition = rule_condition(detection(rule_text(selection)))
        assert "~" not in condition.sql and "LIKE" not in condition.sql, condition.sql
        assert "SIMILAR" not in condition.sql


@pytest.mark.django_db
def test_a_lone_surrogate_in_a_pasted_event_is_matched_not_a_500(analyst_a) -> None:
    body = {"definition": rule_text("F|re: 'x.*y'"), "event": {"F": "x\ud800y"}}
    response = client_for(analyst_a).post(
        TEST_URL, json.dumps(body), content_type="application/json"
    )  # json.dumps writes the surrogate as \ud800, which a JSON parser reads back as one
    assert response.status_code == 200, response.content
    assert response.data["detection_matches"] is True


@pytest.mark.django_db
def test_a_pattern_past_re2s_memory_budget_is_refused_at_its_line(analyst_a) -> None:
    """Each pattern gets 1 MiB (its program and the DFA it builds while matching): a
    thousand Unicode letters in a row do not fit, SigmaHQ's largest |re fits in 256 KiB."""
    text = rule_text("Image: x\n    CommandLine|re: '\\pL{1000}'")
    response = client_for(analyst_a).post(
        TEST_URL, {"definition": text, "event": {"Image": "x"}}, format="json"
    )
    assert response.status_code == 400
    problem = response.data["problems"][0]
    assert problem["line"] == 6
    assert problem["message"] == (
        "regular expression '\\pL{1000}' is invalid: pattern too large - compile failed"
    )
    assert compile_regex(SigmaRegularExpression("x")).engine.options.max_mem == 2**20
