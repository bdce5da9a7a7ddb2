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


def measure(action: Callable[[], object], runs: int) -> tuple[float, int]:
    """Median seconds over ``runs``, and the peak bytes of one more run."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with contextlib.suppress(ValueError):  # a refusal is the answer being measured
            action()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    with contextlib.suppress(ValueError):
        action()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak


def seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.1f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB" if value >= 2**20 else f"{value / 2**10:.0f} KiB"


def alias_rows(before: types.ModuleType, runs: int) -> list[dict]:
    from correlation.sigma.documents import parse_documents

    rows = []
    for levels in (4, 5, 6, 9):
        text = alias_rule(levels)
        row = {"case": f"alias rule, 10^{levels} strings ({len(text.encode())} bytes)"}
        if levels <= 6:  # 10**9 would take ~3 hours before
            old_runs = runs if levels < 6 else min(runs, 3)
            row["before_s"], row["before_peak"] = measure(
                lambda t=text: before.parse_documents(t), old_runs
            )
            row["before_runs"] = old_runs
        row["after_s"], row["after_peak"] = measure(lambda t=text: parse_documents(t), runs * 20)
        rows.append(row)
    return rows


def limit_rows(runs: int) -> list[dict]:
    from correlation.services.rules import check_document
    from correlation.sigma.documents import parse_documents
    from tests.correlation.sigmahq import SIGMA

    largest = SIGMA / "rules/windows/driver_load/driver_load_win_vuln_drivers.yml"
    cases = [
        ("10,000 values (contains): at RULE_MAX_VALUES", values_rule(9_990, "contains", "v")),
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
                "before_s": measure(lambda o=old, t=old_input: o.search(t), runs)[0],
                "after_s": measure(lambda p=linear, t=big: p.search(t), runs)[0],
            }
        )
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
    args = parser.parse_args()
    setup_django()
    before = old_module(args.before, "correlation/sigma/documents.py", "before_documents")
    results = {
        "alias": alias_rows(before, args.runs),
        "limits": limit_rows(args.runs),
        "regex": regex_rows(args.runs),
        "postgres": postgres_rows(args.runs),
    }
    report(results, args)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with (out / f"rule_limits-{stamp}.jsonl").open("w") as fh:
        for section, rows in results.items():
            for row in rows:
                fh.write(json.dumps({"section": section, **row}) + "\n")


def report(results: dict[str, list[dict]], args: argparse.Namespace) -> None:
    print(f"machine: {machine()}; {datetime.now(UTC):%Y-%m-%d}; median of {args.runs} runs")
    print("\n| case | before | before peak | after | after peak |\n|---|---|---|---|---|")
    for row in results["alias"]:
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
    for row in results["limits"]:
        print(f"| {row['case']} | {seconds(row['after_s'])} | {mib(row['after_peak'])} |")
    print("\n| pattern | Python re (before) | RE2 on 100 kB (after) |\n|---|---|---|")
    for row in results["regex"]:
        print(
            f"| {row['case']} | {seconds(row['before_s'])} on {row['before_input']} "
            f"| {seconds(row['after_s'])} |"
        )
    print("\n| PostgreSQL | time |\n|---|---|")
    for row in results["postgres"]:
        print(f"| {row['case']} | {seconds(row['after_s'])} |")


if __name__ == "__main__":
    main()
