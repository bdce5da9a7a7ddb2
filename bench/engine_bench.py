"""The detection engine: throughput, memory and alert latency, measured in one run.

    .venv/bin/python bench/engine_bench.py [--events 40000] [--runs 3] [--latency 40]

1. Throughput on one core: stored batches of real-shaped events (Windows events from
   SigmaHQ's regression data re-timed, sshd syslog, Suricata EVE) are evaluated by
   ``batch_correlate`` in this one process — read from PostgreSQL, matched, windows
   fed, alerts written, batch marked — with 0 (the baseline: reading and marking only),
   100 and 1,000 active SigmaHQ rules. Each run starts from the same state (batches
   unmarked, no alerts, no windows). Reported: median events/s and the ratio to the
   0-rule baseline of the same run.
2. Memory: the peak resident size of a fresh worker-like process that builds the rule set
   and evaluates one batch, with 0 and with 1,000 active rules.
3. Latency: a uvicorn web process and a Celery worker (one process, the correlation
   queue) with the default pack and 1,000 SigmaHQ rules active; one DNS event per ingest
   call, each for a new dynamic-DNS name (the pack's suspicious-domain rule raises on
   it); the time from the ingest call's answer to the alert row existing, polled every
   2 ms. Median and p95 over --latency calls after one warm-up call.

The rules are SigmaHQ's `rules/` tree, imported inactive; the N active ones are the first
N detection rules by Sigma id (a stable, product-mixed sample). The script uses its own
database (socapp_bench_engine, or $BENCH_ENGINE_DB) and Redis database 12 (or
$BENCH_REDIS_URL), and drops the database at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ingest_bench  # noqa: E402
from ingest_bench import machine, postgres_version  # noqa: E402

from scripts import processes  # noqa: E402

# its own database and Redis database (overridable, so two benches can run side by side)
ingest_bench.DB_NAME = os.environ.get("BENCH_ENGINE_DB", "socapp_bench_engine")
RULE_COUNTS = (0, 100, 1000)
# broker, cache and windows of the benchmark
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def sigma_rules_dir() -> Path:
    from socapp.shared_data import shared_data_dir

    return shared_data_dir() / "sigma" / "rules"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "socapp.settings.base"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ["REDIS_URL"] = os.environ["CELERY_BROKER_URL"] = BENCH_REDIS
    import django

    django.setup()


def activate(count: int) -> None:
    """Exactly ``count`` SigmaHQ detection rules active, nothing else."""
    from correlation.engine.ruleset import bump_generation
    from correlation.models import CorrelationRule

    CorrelationRule.objects.update(is_active=False)
    chosen = (
        CorrelationRule.objects.exclude(origin__startswith="rulepack/")
        .filter(rule_type="detection")
        .order_by("sigma_id")
        .values_list("pk", flat=True)[:count]
    )
    CorrelationRule.objects.filter(pk__in=list(chosen)).update(is_active=True)
    bump_generation()


def reset_engine_state(*, unmark_batches: bool = True) -> None:
    """No alerts, no windows, no queued messages; batches waiting again if asked."""
    from django.db import connection

    from socapp.kv import kv

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE alerts, correlation_events, correlations, correlation_rule_stats CASCADE"
        )
        if unmark_batches:
            cursor.execute("UPDATE ingest_batches SET correlated_at = NULL")
        else:
            cursor.execute("UPDATE ingest_batches SET correlated_at = now()")
    kv().flushdb()


MIXES = {
    # mostly background, as a SOC's day looks: workstation logs, sshd, IDS alerts
    "background": {"otrf": 0.5, "sshd": 0.25, "suricata": 0.25},
    # every event an attack sample (SigmaHQ's regression events): a detection stress test
    "attacks": {"windows": 1.0},
}


def store_events(mix: str, count: int) -> list[str]:
    """Ingest ``count`` events of ``mix`` (no worker runs); returns their batch ids."""
    from datasets import DATASETS

    from events.files import file_ingest
    from events.models import IngestBatch
    from events.services import source_create
    from socapp.models import Team

    team = Team.objects.get(name="SOC")
    before = set(IngestBatch.objects.values_list("pk", flat=True))
    for name, share in MIXES[mix].items():
        log_format, make = DATASETS[name]
        source, _ = source_create(
            name=f"{mix}-{name}", log_format=log_format, team=team, actor=None
        )
        data = b"\n".join(make(int(count * share))) + b"\n"
        report = file_ingest(source=source, name=f"{name}.log", data=data)
        assert report.quarantined == 0, report.errors[:3]
    batches = IngestBatch.objects.exclude(pk__in=before).order_by("committed_at")
    return [str(pk) for pk in batches.values_list("pk", flat=True)]


def measure_throughput(batch_ids: list[str], rules: int) -> tuple[float, float, int]:
    """(events/s, seconds to compile the rule set, alerts raised)."""
    from correlation.engine.ruleset import active_ruleset
    from correlation.services import batch_correlate
    from incidents.models import Alert

    activate(rules)
    reset_engine_state()
    started = time.perf_counter()
    active_ruleset(force=True)
    compile_seconds = time.perf_counter() - started
    events = 0
    started = time.perf_counter()
    for batch_id in batch_ids:
        events += batch_correlate(batch_id=batch_id)
    elapsed = time.perf_counter() - started
    return events / elapsed, compile_seconds, Alert.objects.count()


def memory_probe(url: str) -> None:
    """Run in a fresh process: build the active rule set, evaluate one batch (rolled
    back), print the peak resident size in MiB."""
    setup_django(url)
    from django.db import transaction

    from correlation.engine.ruleset import active_ruleset
    from correlation.services import batch_correlate
    from events.models import IngestBatch

    rules = len(active_ruleset(force=True))
    batch_id = IngestBatch.objects.order_by("-accepted").values_list("pk", flat=True).first()
    assert batch_id is not None, "no batch ingested"
    with transaction.atomic():
        IngestBatch.objects.filter(pk=batch_id).update(correlated_at=None)
        batch_correlate(batch_id=batch_id)
        transaction.set_rollback(True)
    print(rules, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def measure_memory(url: str, rules: int) -> float:
    activate(rules)
    output = subprocess.run(
        [sys.executable, __file__, "--memory-probe", url],
        cwd=ROOT,
        env={**os.environ},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    compiled, peak = output.strip().splitlines()[-1].split()
    assert int(compiled) == rules, f"the probe compiled {compiled} rules, not {rules}"
    return float(peak)


def measure_latency(url: str, calls: int) -> list[float]:
    """Seconds from each ingest answer to its alert row."""
    from correlation.models import CorrelationRule
    from events.services import source_create
    from incidents.models import Alert
    from socapp.models import Team

    activate(1000)
    CorrelationRule.objects.filter(origin__startswith="rulepack/").update(is_active=True)
    reset_engine_state(unmark_batches=False)
    _source, token = source_create(
        name="latency-dns", log_format="zeek", team=Team.objects.get(name="SOC"), actor=None
    )
    env = {**os.environ, "DATABASE_URL": url}
    port = processes.free_port()
    samples: list[float] = []
    with processes.ProcessGroup(timeout=30) as procs:
        procs.add(processes.start_web(port, env=env, log_level="warning"))
        procs.add(processes.start_worker("correlation", env=env, log_level="WARNING"))
        processes.wait_until_serving(f"http://127.0.0.1:{port}")
        ingest_url = f"http://127.0.0.1:{port}/api/v1/ingest/"
        for n in range(calls + 1):
            domain = f"beacon{n}-{time.time_ns()}.duckdns.org"
            record = {
                "ts": time.time(),
                "uid": f"L{n}-{time.time_ns()}",
                "id.orig_h": "10.20.30.40",
                "id.orig_p": 5353,
                "id.resp_h": "10.0.0.53",
                "id.resp_p": 53,
                "proto": "udp",
                "query": domain,
                "qtype_name": "A",
            }
            request = urllib.request.Request(
                ingest_url,
                data=json.dumps(record).encode(),
                method="POST",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                assert json.loads(response.read())["accepted"] == 1
            answered = time.perf_counter()
            deadline = answered + (120 if n == 0 else 30)  # the first call warms the worker
            while not Alert.objects.filter(group_key__endswith=domain).exists():
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"no alert for {domain}")
                time.sleep(0.002)
            if n:
                samples.append(time.perf_counter() - answered)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=40_000, help="background mix")
    parser.add_argument("--attack-events", type=int, default=10_000, help="attack samples")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=int, default=40)
    parser.add_argument("--memory-probe", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        memory_probe(args.memory_probe)
        return

    os.environ.setdefault("SECRET_KEY", "bench-only")
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socapp")
    url = ingest_bench.prepare_database(base_url)
    setup_django(url)
    from correlation.services import import_rules

    started = time.perf_counter()
    imported = import_rules([sigma_rules_dir()], actor=None, active=False)
    import_seconds = time.perf_counter() - started
    print(f"imported {imported.imported} SigmaHQ rules in {import_seconds:.0f} s", flush=True)
    batches = {
        "background": store_events("background", args.events),
        "attacks": store_events("attacks", args.attack_events),
    }
    results: list[dict] = []
    for run in range(1, args.runs + 1):
        for mix, batch_ids in batches.items():
            row: dict = {"run": run, "mix": mix}
            for rules in RULE_COUNTS:
                rate, compile_seconds, alerts = measure_throughput(batch_ids, rules)
                row[f"eps_{rules}"] = rate
                row[f"compile_{rules}"] = compile_seconds
                row[f"alerts_{rules}"] = alerts
            print(json.dumps(row), flush=True)
            results.append(row)
    memory = {rules: measure_memory(url, rules) for rules in (0, 1000)}
    latency = measure_latency(url, args.latency)
    version = postgres_version()
    from django.db import connections

    connections.close_all()
    ingest_bench.drop_database(base_url)
    report(results, memory, latency, args, version)


def report(
    results: list[dict],
    memory: dict[int, float],
    latency: list[float],
    args: argparse.Namespace,
    version: str,
) -> None:
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = {"throughput": results, "memory_mib": memory, "latency_seconds": latency}
    (out_dir / f"engine-{stamp}.json").write_text(json.dumps(raw, indent=1))
    print(
        f"\n{datetime.now(tz=UTC):%Y-%m-%d}, {machine()}, PostgreSQL {version}, "
        f"{args.events:,} background and {args.attack_events:,} attack events, {args.runs} runs\n"
    )
    print(
        "| events | active rules | median events/s | runs (events/s) | ratio to 0 rules "
        "| compile s | alerts |"
    )
    print("|---|---|---|---|---|---|---|")
    for mix in MIXES:
        rows = [r for r in results if r["mix"] == mix]
        for rules in RULE_COUNTS:
            values = [r[f"eps_{rules}"] for r in rows]
            ratios = [r[f"eps_{rules}"] / r["eps_0"] for r in rows]
            print(
                f"| {mix} | {rules:,} | {statistics.median(values):,.0f} | "
                f"{', '.join(f'{v:,.0f}' for v in values)} | {statistics.median(ratios):.2f} | "
                f"{statistics.median(r[f'compile_{rules}'] for r in rows):.2f} | "
                f"{rows[0][f'alerts_{rules}']:,} |"
            )
    print(
        f"\npeak RSS of a worker process: {memory[0]:.0f} MiB with 0 rules, "
        f"{memory[1000]:.0f} MiB with 1,000 rules"
    )
    ordered = sorted(latency)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(
        f"ingest answer -> alert row, {len(latency)} calls: median "
        f"{statistics.median(latency) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
