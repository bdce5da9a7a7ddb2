"""End-to-end ingest throughput against a raw COPY of the same rows, measured in one run.

    .venv/bin/python bench/ingest_bench.py [--events 100000] [--runs 3] [--batch 5000]

For each dataset (sshd syslog, the same shuffled from a few thousand addresses, Suricata
EVE, Windows JSON; bench/datasets.py) and each run:

- copy_raw: the rows the pipeline produces for this dataset, rendered to COPY text
  beforehand, COPY'd into the same partitioned table with all its indexes (the
  database's ceiling: what no pipeline in front of it can beat);
- file: ``file_ingest`` in this process (read, parse, normalize, COPY, commit);
- rest: HTTP POSTs of --batch records to a live uvicorn process (the REST path, the
  answer after commit), correlation paused (no worker running);
- rest+worker: the same with a Celery worker consuming the correlation queue.

Every measurement starts from an empty events table. The script prints a Markdown table
of medians with each method's ratio to copy_raw in the same run, next to the ratio
recorded in docs/PERFORMANCE.md (RECORDED: a regression shows, nothing asserts), and
writes the raw numbers as JSON lines to bench/results/. It uses its own database (socapp_bench, or
$BENCH_DATABASE when several runs share a server) on the configured server and drops it at
the end, and its own Redis database ($BENCH_REDIS_URL, default redis://127.0.0.1:6379/12)
as broker and cache of every process it runs, which it empties.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
DB_NAME = os.environ.get("BENCH_DATABASE", "socapp_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")

from scripts import processes  # noqa: E402 - after the repository root is on the path

# Median ratios to copy_raw recorded in docs/PERFORMANCE.md ("Ingest throughput"), printed
# next to this run's: update both together.
RECORDED_ON = "2026-11-28"
RECORDED: dict[str, dict[str, float]] = {
    "sshd": {"file": 0.72, "rest": 0.68, "rest_worker": 0.62},
    "suricata": {"file": 0.82, "rest": 0.79, "rest_worker": 0.77},
    "windows": {"file": 0.74, "rest": 0.75, "rest_worker": 0.74},
}


def prepare_database(base_url: str) -> str:
    """The bench's own database (DB_NAME) on ``base_url``'s server, new and bootstrapped."""
    url = processes.database_url(base_url, DB_NAME)
    processes.prepare_database(url, env=os.environ)
    return url


def drop_database(base_url: str) -> None:
    processes.drop_database(processes.database_url(base_url, DB_NAME))


def truncate_event_tables() -> None:
    """Events and everything that refers to their batches, emptied between cases."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE events, event_attributes, ingest_batches, quarantine, correlation_batch_parts"
        )


def empty_tables() -> None:
    """Empty, and checkpoint so no run pays for the previous one's writes."""
    from django.db import connection

    truncate_event_tables()
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def raw_copy_rows(source, lines: list[bytes], log_format: str) -> bytes:
    """The rows the pipeline stores for ``lines``, as COPY text (made outside the timing):
    ingested once through the real path, read back with COPY TO, then the tables emptied."""
    from django.db import connection

    from events.ingest import events_ingest
    from events.readers import read_lines
    from events.services import _COLUMN_LIST

    decoded = read_lines(lines, log_format)
    result = events_ingest(
        source=source, records=decoded.records, transport="api", log_format=log_format
    )
    out = io.BytesIO()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY (SELECT {_COLUMN_LIST} FROM events WHERE batch_id = %s "
            "ORDER BY event_time) TO STDOUT",
            [result.batch_id],
        ) as copy,
    ):
        for block in copy:
            out.write(block)
    empty_tables()
    return out.getvalue()


def measure_copy(payload: bytes) -> float:
    from django.db import connection, transaction

    from events.services import _COLUMN_LIST

    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY events ({_COLUMN_LIST}) FROM STDIN") as copy,
    ):
        copy.write(payload)
    return time.perf_counter() - started


def measure_file(source, lines: list[bytes]) -> float:
    from events.files import file_ingest

    data = b"\n".join(lines) + b"\n"
    started = time.perf_counter()
    report = file_ingest(source=source, name=f"bench-{time.time_ns()}.log", data=data)
    elapsed = time.perf_counter() - started
    assert report.quarantined == 0, report.errors[:3]
    return elapsed


def post_batches(url: str, token: str, bodies: list[bytes]) -> float:
    started = time.perf_counter()
    for body in bodies:
        request = urllib.request.Request(  # noqa: S310 - a loopback URL we built
            url,
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        )
        with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
            result = json.loads(response.read())
            assert result["quarantined"] == 0, result["errors"][:3]
    return time.perf_counter() - started


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {system}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--datasets", default="sshd,sshd_shuffled,suricata,windows")
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="skip rest+worker (a busy machine: the REST path alone)",
    )
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "bench-only")
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socapp")
    url = prepare_database(base_url)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "socapp.settings.base"
    # This process (file_ingest) and the ones it starts hand batches to the bench's broker.
    os.environ["REDIS_URL"] = os.environ["CELERY_BROKER_URL"] = REDIS_URL
    import django

    django.setup()
    from datasets import DATASETS

    from events.services import source_create
    from socapp.models import Team

    broker = REDIS_URL
    env = {**os.environ, "DATABASE_URL": url}
    import redis

    results: list[dict] = []
    team = Team.objects.get(name="SOC")
    for name in args.datasets.split(","):
        log_format, make = DATASETS[name]
        lines = make(args.events)
        source, token = source_create(
            name=f"bench-{name}", log_format=log_format, team=team, actor=None
        )
        bodies = [b"\n".join(lines[i : i + args.batch]) for i in range(0, len(lines), args.batch)]
        payload = raw_copy_rows(source, lines, log_format)
        port = processes.free_port()
        web = processes.start_web(port, env=env, log_level="warning")
        ingest_url = f"http://127.0.0.1:{port}/api/v1/ingest/"
        try:
            processes.wait_until_serving(f"http://127.0.0.1:{port}")
            for run in range(1, args.runs + 1):
                row = {"dataset": name, "run": run, "events": len(lines)}
                empty_tables()
                row["copy_raw"] = len(lines) / measure_copy(payload)
                empty_tables()
                row["file"] = len(lines) / measure_file(source, lines)
                empty_tables()
                redis.Redis.from_url(broker).flushdb()
                row["rest"] = len(lines) / post_batches(ingest_url, token, bodies)
                print(json.dumps(row), flush=True)
                results.append(row)
                if args.no_worker:
                    continue
                empty_tables()
                worker = processes.start_worker("correlation", env=env, log_level="WARNING")
                time.sleep(4)
                row["rest_worker"] = len(lines) / post_batches(ingest_url, token, bodies)
                processes.stop(worker, timeout=30)
                print(json.dumps(row), flush=True)
        finally:
            processes.stop(web, timeout=30)
    version = postgres_version()
    from django.db import connections

    connections.close_all()
    drop_database(base_url)
    report(results, args, version)


def report(results: list[dict], args: argparse.Namespace, version: str) -> None:
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"ingest-{stamp}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    print(
        f"\n{datetime.now(tz=UTC):%Y-%m-%d}, {machine()}, PostgreSQL "
        f"{version}, {args.events:,} events per run, {args.runs} runs, "
        f"batches of {args.batch:,}\n"
    )
    print(
        "| dataset | method | median events/s | runs (events/s) | median ratio to copy_raw "
        f"| recorded ({RECORDED_ON}) |"
    )
    print("|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["dataset"] for r in results):
        rows = [r for r in results if r["dataset"] == name]
        for method in ("copy_raw", "file", "rest", "rest_worker"):
            if any(method not in r for r in rows):
                continue
            values = [r[method] for r in rows]
            ratios = [r[method] / r["copy_raw"] for r in rows]
            recorded = RECORDED.get(name, {}).get(method)
            print(
                f"| {name} | {method} | {statistics.median(values):,.0f} | "
                f"{', '.join(f'{v:,.0f}' for v in values)} | {statistics.median(ratios):.2f} | "
                f"{'' if recorded is None else f'{recorded:.2f}'} |"
            )


def postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


if __name__ == "__main__":
    main()
