"""What a hostile rule or pattern costs, before and after the rule limits (issue 11).

    .venv/bin/python bench/rule_limits_bench.py [--runs 5] [--before REV]

"Before" is the rule reader and matcher of git revision REV (default: the commit before
the limits, e4275fd), loaded from git into this process; "after" is the working tree.
Each figure is the median of --runs runs (the slowest "before" cases run fewer times and
say so). Measured, in one process:

1. Alias rules: a ~500-byte rule whose aliases stand for 10**k strings, parsed as the rule
   tester parses it (``parse_documents``): time and peak memory (tracemalloc).
2. Rules at the limits: 10,000 values, 80 windash values (10,000 strings), SigmaHQ's largest
   rule: parse (and compile) time — what the bounds still allow.
3. Evil regexes as ``|re`` values, and a wildcard chain ``*a*a*...*b``: the old engine
   (Python ``re``) on inputs small enough to finish, RE2 on 100 kB.
4. PostgreSQL (what the event search and a backtest would run): ``ILIKE`` with 300
   wildcards and ``~`` with the same evil regexes, on 100 kB.
5. What RE2 costs ordinary matching: the first 1,000 SigmaHQ detection rules by Sigma id
   (as bench/engine_bench.py picks them), compiled by the old matcher (Python ``re``) and
   the new (RE2), evaluated on SigmaHQ's regression events (Windows .evtx, parsed as
   ingest parses them), each event against the rules whose logsource it fits, as the
   engine's index would hand them: events per second, matching only.

Prints Markdown; writes raw numbers to bench/results/ as JSON lines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
import types
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest_bench import machine  # noqa: E402

BEFORE = "e4275fd"
HUNDRED_KB = 100_000


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socapp.settings.base")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    # only plain SELECTs are run: the server's own database will do
    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socapp")
    os.environ["DATABASE_URL"] = server.rsplit("/", 1)[0] + "/postgres"
    import django

    django.setup()


def old_module(rev: str, path: str, name: str) -> types.ModuleType:
    """``path`` as it was at ``rev`` (these modules import no sibling)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(name)
    module.__dict__["__name__"] = name
    sys.modules[name] = module
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)  # noqa: S102
    return module


def alias_rule(levels: int) -> str:
    lines = [
        "title: alias bomb",
        "logsource: {product: windows, category: process_creation}",
        "detection:",
        "  selection: {Image: x}",
        "  condition: selection",
        "falsepositives:",
        '  - &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    for level in range(1, levels):
        lines.append(f"  - &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def values_rule(count: int, modifier: str, value: str) -> str:
    items = "".join(f"      - '{value}{i}'\n" for i in range(count))
    return (
        "title: big\nlogsource: {product: windows, category: process_creation}\n"
        f"detection:\n  selection:\n    CommandLine|{modifier}:\n{items}  condition: selection\n"
    )


def measure(action: Callable[[], object], runs: int, refused: bool = False) -> tuple[float, int]:
    """Median seconds over ``runs``, and the peak bytes of one more run. ``refused``: the
    action ends in a ValueError (RuleInvalid), which is the answer being measured."""
    expected: tuple[type[BaseException], ...] = (ValueError,) if refused else ()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with contextlib.suppress(*expected):
            action()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    with contextlib.suppress(*expected):
        action()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak


def seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.1f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} µs" if value >= 1e-5 else f"{value * 1e6:.1f} µs"


def mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB" if value >= 2**20 else f"{value / 2**10:.0f} KiB"


def alias_rows(before: types.ModuleType, runs: int) -> list[dict]:
    from correlation.sigma.documents import parse_documents

    rows = []
    for levels in (4, 5, 6, 9):
        text = alias_rule(levels)
        row: dict[str, object] = {
            "case": f"alias rule, 10^{levels} strings ({len(text.encode())} bytes)"
        }
        if levels <= 6:  # 10**9 would take ~3 hours before
            old_runs = runs if levels < 6 else min(runs, 3)
            row["before_s"], row["before_peak"] = measure(
                partial(before.parse_documents, text), old_runs, refused=True
            )
            row["before_runs"] = old_runs
        row["after_s"], row["after_peak"] = measure(
            partial(parse_documents, text), runs * 20, refused=True
        )
        rows.append(row)
    return rows


def limit_rows(runs: int) -> list[dict]:
    from correlation.services.rules import check_document
    from correlation.sigma.documents import parse_documents
    from tests.correlation.sigmahq import SIGMA

    largest = SIGMA / "rules/windows/driver_load/driver_load_win_vuln_drivers.yml"
    cases = [
        # 9,980 listed values and the rule's other scalars: just under RULE_MAX_VALUES
        ("10,000 values (contains): at RULE_MAX_VALUES", values_rule(9_980, "contains", "v")),
        ("80 windash values = 10,000 strings", values_rule(80, "windash|contains", " -a -b -c")),
        ("SigmaHQ's largest rule (295 kB, 4,467 values)", largest.read_text()),
    ]
    rows = []
    for name, text in cases:

        def parse_and_compile(t: str = text) -> None:
            check_document(parse_documents(t)[0])

        after, peak = measure(parse_and_compile, runs)
        rows.append({"case": name, "after_s": after, "after_peak": peak})
    return rows


EVIL = [
    # (pattern, the old engine's input and its size, RE2's 100 kB input)
    (r"(a+)+$", lambda n: "a" * n + "b", 22, "a" * HUNDRED_KB + "b"),
    (r"(a|aa)+$", lambda n: "a" * n + "b", 30, "a" * HUNDRED_KB + "b"),
    (r"(.*a){20}", lambda n: "a" * 19 + "b" * n, 200, "a" * 19 + "b" * HUNDRED_KB),
    (r"^(\w+\s?)*$", lambda n: "a" * n + "!", 22, "word " * (HUNDRED_KB // 5) + "!"),
]


def regex_rows(runs: int) -> list[dict]:
    from sigma.types import SigmaRegularExpression, SigmaString

    from correlation.sigma.values import compile_regex, text_test

    rows = []
    for pattern, small, size, big in EVIL:
        old, old_input = re.compile(pattern), small(size)
        linear = compile_regex(SigmaRegularExpression(pattern))
        rows.append(
            {
                "case": f"`|re: {pattern}`",
                "before_input": f"{size + (19 if '20' in pattern else 1)} chars",
                "before_s": measure(partial(old.search, old_input), runs)[0],
                "after_s": measure(partial(linear.search, big), runs)[0],
            }
        )
    rows.append(typical_row(runs))
    chain = "*" + "a*" * 20 + "b"
    old_chain = re.compile(".*" + "a.*" * 20 + "b", re.DOTALL)  # what values.py built
    _, needle = text_test(SigmaString(chain), lower=True)
    rows.append(
        {
            "case": "wildcards `*a*a*…*b` (20 stars)",
            "before_input": "24 chars",
            "before_s": measure(lambda: old_chain.fullmatch("a" * 24), runs)[0],
            "after_s": measure(lambda: needle.fullmatch("a" * HUNDRED_KB), runs)[0],
        }
    )
    return rows


def typical_row(runs: int) -> dict:
    """What RE2 costs an ordinary rule: a SigmaHQ ``|re`` (an IP in a URL) against a
    200-character command line it does not match, per call (10,000 calls a run)."""
    from sigma.types import SigmaRegularExpression

    from correlation.sigma.values import compile_regex

    pattern = r"://[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
    line = (r"C:\Windows\System32\cmd.exe /c powershell -nop -w hidden " * 4)[:200]
    old, linear = re.compile(pattern), compile_regex(SigmaRegularExpression(pattern))

    def per_call(search: Callable[[str], object]) -> float:
        return measure(lambda: [search(line) for _ in range(10_000)], runs)[0] / 10_000

    return {
        "case": "typical SigmaHQ `|re` (`://` + an IP), per call, no match",
        "before_input": "200 chars",
        "before_s": per_call(old.search),
        "after_s": per_call(linear.search),
        "after_input": "200 chars",
    }


def old_matcher(rev: str) -> types.ModuleType:
    """The matcher of ``rev`` (values.py and matcher.py, as a package of their own)."""
    package = types.ModuleType("before_sigma")
    package.__path__ = []
    sys.modules["before_sigma"] = package
    old_module(rev, "correlation/sigma/values.py", "before_sigma.values")
    return old_module(rev, "correlation/sigma/matcher.py", "before_sigma.matcher")


def regression_events() -> list[tuple[dict, str]]:
    from django.utils import timezone

    from events.files import chunks
    from events.parsers import ParseContext, ParsedEvent, parser_for
    from tests.correlation.sigmahq import REGRESSION

    parse, events = parser_for("windows"), []
    for path in sorted(REGRESSION.rglob("*.evtx")):
        for chunk in chunks(path.name, path.read_bytes(), "windows"):
            for result in parse(chunk.records, ParseContext(received_at=timezone.now())):
                if isinstance(result, ParsedEvent):
                    events.append((result.fields, result.raw))
    return events


def matching_rows(rev: str, runs: int) -> list[dict]:
    from sigma.rule import SigmaRule

    from correlation.engine.ruleset import compile_variants
    from correlation.services.trying import _fits
    from correlation.sigma.documents import parse_documents
    from correlation.sigma.values import EventView
    from tests.correlation.sigmahq import SIGMA

    old = old_matcher(rev)
    found = []
    for path in (SIGMA / "rules").rglob("*.yml"):
        document = parse_documents(path.read_text(encoding="utf-8"))[0]
        if isinstance(document.sigma, SigmaRule) and document.sigma_id:
            found.append((document.sigma_id, document.sigma))
    rules = [sigma for _, sigma in sorted(found, key=lambda item: item[0])[:1000]]
    new_pairs, old_pairs = [], []
    for sigma in rules:
        try:
            variants = compile_variants(sigma)
        except ValueError:
            continue
        for variant, predicate in variants:
            new_pairs.append((variant, predicate))
            old_pairs.append((variant, old.compile_rule(sigma, variant.map_field)))
    events = regression_events()
    # the rules each event meets, decided once (the engine's index does this per kind)
    met = []
    for doc, raw in events:
        view = EventView(doc, raw)
        met.append([i for i, (variant, _) in enumerate(new_pairs) if _fits(variant, view)])

    def run(pairs: list) -> int:
        hits = 0
        for (doc, raw), indexes in zip(events, met, strict=True):
            view = EventView(doc, raw)
            for i in indexes:
                hits += bool(pairs[i][1](view))
        return hits

    assert run(new_pairs) == run(old_pairs), "RE2 and re disagree on SigmaHQ's events"
    # old and new alternate, so a busy moment of the machine falls on both alike
    took: dict[str, list[float]] = {"Python re (before)": [], "RE2 (after)": []}
    for _ in range(runs):
        for name, pairs in zip(took, (old_pairs, new_pairs), strict=True):
            started = time.perf_counter()
            run(pairs)
            took[name].append(time.perf_counter() - started)
    return [
        {
            "case": f"{name}: {len(events):,} events, {len(rules):,} rules",
            "events_per_s": len(events) / statistics.median(times),
            "rule_tests": sum(len(m) for m in met),
        }
        for name, times in took.items()
    ]


def postgres_rows(runs: int) -> list[dict]:
    from django.db import connection

    text = "a" * HUNDRED_KB
    queries = [
        ("search `ILIKE` with 300 wildcards", "%s ILIKE %s", text, "%" + "a%" * 300 + "b"),
        ("search `ILIKE '%foo%'` (baseline)", "%s ILIKE %s", text, "%foo%"),
        *[(f"`~ '{p}'`", "%s ~ %s", big, p) for p, _, _, big in EVIL],
    ]
    rows = []
    with connection.cursor() as cursor:
        for name, sql, text, pattern in queries:

            def run(s: str = sql, t: str = text, p: str = pattern) -> None:
                cursor.execute(f"SELECT {s}", [t, p])
                cursor.fetchone()

            run()
            rows.append({"case": f"PostgreSQL {name}, 100 kB", "after_s": measure(run, runs)[0]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--only", choices=["alias", "limits", "regex", "postgres", "matching"])
    args = parser.parse_args()
    setup_django()
    before = old_module(args.before, "correlation/sigma/documents.py", "before_documents")
    sections: dict[str, Callable[[], list[dict]]] = {
        "alias": lambda: alias_rows(before, args.runs),
        "limits": lambda: limit_rows(args.runs),
        "regex": lambda: regex_rows(args.runs),
        "postgres": lambda: postgres_rows(args.runs),
        "matching": lambda: matching_rows(args.before, args.runs),
    }
    results = {name: run() for name, run in sections.items() if args.only in (None, name)}
    report(results, args)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with (out / f"rule_limits-{stamp}.jsonl").open("w") as fh:
        for section, rows in results.items():
            for row in rows:
                fh.write(json.dumps({"section": section, **row}) + "\n")


def cell(text: str) -> str:
    return text.replace("|", "\\|")  # a Markdown table cell


def report(results: dict[str, list[dict]], args: argparse.Namespace) -> None:
    print(f"machine: {machine()}; {datetime.now(UTC):%Y-%m-%d}; median of {args.runs} runs")
    print("\n| case | before | before peak | after | after peak |\n|---|---|---|---|---|")
    for row in results.get("alias", []):
        old = (
            f"{seconds(row['before_s'])} ({row['before_runs']} runs)"
            if "before_s" in row
            else "not run (hours)"
        )
        old_peak = mib(row["before_peak"]) if "before_peak" in row else "—"
        print(
            f"| {row['case']} | {old} | {old_peak} | refused, {seconds(row['after_s'])} "
            f"| {mib(row['after_peak'])} |"
        )
    print("\n| rule at the limits | parse + compile | peak |\n|---|---|---|")
    for row in results.get("limits", []):
        print(f"| {row['case']} | {seconds(row['after_s'])} | {mib(row['after_peak'])} |")
    print("\n| pattern | Python re (before) | RE2, on 100 kB unless said (after) |\n|---|---|---|")
    for row in results.get("regex", []):
        after = f"{seconds(row['after_s'])}" + (
            f" on {row['after_input']}" if "after_input" in row else ""
        )
        print(
            f"| {cell(row['case'])} | {seconds(row['before_s'])} on {row['before_input']} "
            f"| {after} |"
        )
    print("\n| PostgreSQL | time |\n|---|---|")
    for row in results.get("postgres", []):
        print(f"| {cell(row['case'])} | {seconds(row['after_s'])} |")
    print("\n| matching only | events/s | rule tests |\n|---|---|---|")
    for row in results.get("matching", []):
        print(f"| {row['case']} | {row['events_per_s']:,.0f} | {row['rule_tests']:,} |")


if __name__ == "__main__":
    main()
