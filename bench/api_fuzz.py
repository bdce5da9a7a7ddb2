"""A larger schemathesis run over the whole REST API than `make test` makes.

    .venv/bin/python bench/api_fuzz.py [--examples 100] [--runs 1]

Runs tests/test_api_fuzz.py (every operation of docs/openapi.yaml, requests that fit the
schema and requests that do not, with a token of each role and a source token for
ingest, half of them aimed at real seeded objects) with --examples examples per operation
and role instead of the suite's 10, and prints a Markdown table for docs/SECURITY.md:
operations x examples x roles, requests sent, answers by class, 5xx answers and schema
violations (undocumented status, content type or body). The raw figures go to
bench/results/api-fuzz-<timestamp>.jsonl. Each run is derandomized with its own example
count, so a run is reproducible from its command line.

pytest creates and drops its own test database on the configured server
(DATABASE_URL, as for the suite).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(examples: int, report: Path) -> tuple[int, float]:
    env = {**os.environ, "API_FUZZ_EXAMPLES": str(examples), "API_FUZZ_REPORT": str(report)}
    env.setdefault("SECRET_KEY", "bench-only")
    started = time.monotonic()
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "pytest"),
            "tests/test_api_fuzz.py",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "--create-db",
            "-o",
            "timeout=0",
        ],
        cwd=ROOT,
        env=env,
        check=False,
    )
    return done.returncode, time.monotonic() - started


def table(rows: list[dict], examples: int, seconds: float) -> str:
    lines = [
        "| who | operations | examples each | requests | 2xx | 4xx | 5xx | violations |",
        "|---|---|---|---|---|---|---|---|",
    ]
    totals = {"requests": 0, "2xx": 0, "4xx": 0, "5xx": 0, "violations": 0}
    for row in rows:
        statuses = row["statuses"]
        figures = {
            "requests": row["requests"],
            "2xx": statuses.get("200", 0),
            "4xx": statuses.get("400", 0),
            "5xx": statuses.get("500", 0),
            "violations": sum(row["failures"].values()),
        }
        for key, value in figures.items():
            totals[key] += value
        lines.append(
            f"| {row['who']} | {row['operations']} | {examples} | "
            + " | ".join(str(v) for v in figures.values())
            + " |"
        )
    lines.append(
        f"| **all** | | | {totals['requests']} | {totals['2xx']} | {totals['4xx']} | "
        f"{totals['5xx']} | {totals['violations']} |"
    )
    lines.append(f"\n{seconds:.0f} s wall ({os.cpu_count()} cores, {platform.machine()}).")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    status = 0
    for run in range(args.runs):
        report = out / f"api-fuzz-{stamp}-{run + 1}.jsonl"
        code, seconds = run_once(args.examples, report)
        status = status or code
        rows = [json.loads(line) for line in report.read_text().splitlines()]
        print(f"\n## run {run + 1}: pytest exit {code}\n")
        print(table(rows, args.examples, seconds))
        failures = {k: v for row in rows for k, v in row["failures"].items()}
        for key, count in sorted(failures.items()):
            print(f"- {key} x{count}")
    return status


if __name__ == "__main__":
    sys.exit(main())
