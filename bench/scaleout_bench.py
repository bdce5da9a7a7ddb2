"""Scale-out: one backlog correlated by one Celery worker process, then by two.

    .venv/bin/python bench/scaleout_bench.py [--events 40000] [--runs 3] [--rules 1000]

A backlog of stored batches (engine_bench's background mix) waits for correlation, as
after an outage; ``--rules`` SigmaHQ detection rules and the default pack are active. For
each run and each worker count (1, then 2) the engine state is reset (no alerts, no
windows, every batch waiting), that many worker processes are started on the
correlation queue (concurrency 1 each: one process, one core), every batch is sent, and
the wall time from the first send to the last batch marked correlated is taken (workers
are started and warm before the clock starts: their rule sets are compiled).

Reported: the median time and events/s per worker count, how busy the machine's cores
were meanwhile (all processes: workers, PostgreSQL, Redis), the speed-up (one worker's
median over two workers'), and whether the two produce identical alerts (same ids, keys
and counts; where not, the differences by rule). Uses its own database
(socapp_bench_scaleout) and Redis database 12 (or $BENCH_REDIS_URL); drops the database
at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

os.environ.setdefault("BENCH_ENGINE_DB", "socapp_bench_scaleout")
import engine_bench  # noqa: E402
import ingest_bench  # noqa: E402
from ingest_bench import machine, postgres_version  # noqa: E402

from scripts import processes  # noqa: E402

WORKER_COUNTS = (1, 2)


def warm_batches(count: int) -> list[str]:
    """Tiny batches (one sshd line each) that warm the workers up: the first batch a
    worker takes compiles its rule set (~4 s for 1,000 rules), which is not the backlog's
    time."""
    from events.ingest import events_ingest
    from events.parsers import RawRecord
    from events.services import source_create
    from socapp.models import Team

    source, _ = source_create(
        name="warm-up", log_format="syslog", team=Team.objects.get(name="SOC"), actor=None
    )
    line = (
        "<38>Dec  1 10:00:00 bastion sshd[1]: Accepted password for ops from 192.0.2.1 port 22 ssh2"
    )
    return [
        str(events_ingest(source=source, records=[RawRecord(1, line)], transport="api").batch_id)
        for _ in range(count)
    ]


def warm_workers(count: int, env: dict[str, str], warm_ids: list[str]) -> list:
    """``count`` worker processes, each past compiling the active rule set."""
    workers = [
        processes.start_worker("correlation", env=env, name=f"scale{n}", log_level="WARNING")
        for n in range(count)
    ]
    correlate_backlog(warm_ids)
    return workers


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far (/proc/stat)."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def correlate_backlog(batch_ids: list[str]) -> float:
    """Send every batch; seconds until the last is marked correlated."""
    from celery import Celery

    from events.models import IngestBatch

    client = Celery("bench-client", broker=engine_bench.BENCH_REDIS, set_as_current=False)
    started = time.perf_counter()
    for batch_id in batch_ids:
        client.send_task("correlation.tasks.correlate_batch", args=[batch_id], queue="correlation")
    client.close()
    waiting = IngestBatch.objects.filter(pk__in=batch_ids, correlated_at__isnull=True)
    while waiting.exists():
        time.sleep(0.05)
    return time.perf_counter() - started


def alert_fingerprint() -> dict[str, tuple[str, str, int]]:
    """Each alert: (rule, key, count), by id."""
    from incidents.models import Alert

    rows = Alert.objects.values_list("pk", "rule__name", "group_key", "count")
    return {str(pk): (rule or "", key, count) for pk, rule, key, count in rows}


def differences(one: dict[str, tuple[str, str, int]], two: dict[str, tuple[str, str, int]]) -> str:
    """Where the two sets of alerts differ, by rule: alerts only in one, only in two."""
    by_rule: dict[str, list[int]] = {}
    for alert_id in set(one) ^ set(two):
        rule = (one.get(alert_id) or two[alert_id])[0]
        by_rule.setdefault(rule, [0, 0])[0 if alert_id in one else 1] += 1
    changed = [a for a in set(one) & set(two) if one[a] != two[a]]
    lines = [f"  {rule}: {a} only with one worker, {b} only with two" for rule, (a, b) in
             sorted(by_rule.items())]  # fmt: skip
    lines.append(f"  same id, different count or key: {len(changed)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=40_000, help="background mix")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rules", type=int, default=1000)
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "bench-only")
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socapp")
    url = ingest_bench.prepare_database(base_url)
    engine_bench.setup_django(url)
    from correlation.models import CorrelationRule
    from correlation.services import import_rules

    import_rules([engine_bench.sigma_rules_dir()], actor=None, active=False)
    batch_ids = engine_bench.store_events("background", args.events)
    warm_ids = warm_batches(8)
    engine_bench.activate(args.rules)
    CorrelationRule.objects.filter(origin__startswith="rulepack/").update(is_active=True)
    env = {**os.environ, "DATABASE_URL": url}

    seconds: dict[int, list[float]] = {n: [] for n in WORKER_COUNTS}
    busy: dict[int, list[float]] = {n: [] for n in WORKER_COUNTS}
    fingerprints: dict[int, dict[str, tuple[str, str, int]]] = {}
    for run in range(1, args.runs + 1):
        for count in WORKER_COUNTS:
            engine_bench.reset_engine_state()
            workers = warm_workers(count, env, warm_ids)
            try:
                cpu_before = cpu_times()
                seconds[count].append(correlate_backlog(batch_ids))
                cpu_after = cpu_times()
            finally:
                processes.stop(*workers)
            fingerprints[count] = alert_fingerprint()
            used, total = (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1])
            busy[count].append(used / total)
            print(f"run {run}, {count} worker(s): {seconds[count][-1]:.2f} s", flush=True)

    version = postgres_version()
    from django.db import connections

    connections.close_all()
    ingest_bench.drop_database(base_url)
    one, two = (statistics.median(seconds[n]) for n in WORKER_COUNTS)
    same = fingerprints[1] == fingerprints[2]
    print(
        f"\n{datetime.now(tz=UTC):%Y-%m-%d}, {machine()}, PostgreSQL {version}, "
        f"{args.events:,} background events in {len(batch_ids)} batches, {args.rules:,} "
        f"SigmaHQ rules and the pack, {args.runs} runs\n"
    )
    print("| workers | median s | runs (s) | events/s | machine CPU busy (median) |")
    print("|---|---|---|---|---|")
    for count in WORKER_COUNTS:
        median = statistics.median(seconds[count])
        runs = ", ".join(f"{s:.2f}" for s in seconds[count])
        cpu = statistics.median(busy[count])
        print(f"| {count} | {median:.2f} | {runs} | {args.events / median:,.0f} | {cpu:.0%} |")
    print(f"\nspeed-up with two workers: {one / two:.2f}x")
    print(f"identical alerts: {same} ({len(fingerprints[1]):,} and {len(fingerprints[2]):,})")
    if not same:
        print(differences(fingerprints[1], fingerprints[2]))


if __name__ == "__main__":
    main()
