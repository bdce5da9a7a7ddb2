"""A single-account brute force in ONE batch: how long correlation takes, before and after
the incremental windows (docs/PERFORMANCE.md, "Correlating a brute force in one batch").

    .venv/bin/python bench/brute_force_bench.py [--sizes 500,1000,2000,5000] [--runs 3]
        [--sigma 1000] [--old-code DIR --old-sizes 100,200,400]

Each case is one stored batch of N failed sshd logons for ``root`` from one address, one
a second, evaluated by ``batch_correlate`` in one process with the default rule pack and
the first ``--sigma`` SigmaHQ detection rules (by Sigma id) active - the pack's SSH brute
force fires once per five minutes and its password-spraying rule (ten accounts from one
address) is never met, which is what used to be quadratic. Reported per N: the median
seconds over ``--runs`` runs, events/s, Redis commands and bytes read back per event, and
the brute-force alerts raised.

``--old-code DIR`` runs the same cases against another checkout (e.g. ``git archive
<commit> | tar -x -C DIR``), each version in its own process and database, so the curve
before the change can be drawn at the sizes it can finish (it grows with the cube of N).

Uses its own databases (socapp_bench_bruteforce_*, dropped at the end) and the Redis of
``BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/12), which it empties.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import processes  # noqa: E402 - imported before --code puts another checkout first

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
BASE_DB = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socapp")


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB"


# ---- one code version, in its own process ----------------------------------------------


def database(label: str) -> str:
    return processes.database_url(BASE_DB, f"socapp_bench_bruteforce_{label}")


def prepare(code: Path, label: str) -> str:
    url = database(label)
    env = {**os.environ, "REDIS_URL": REDIS_URL, "PYTHONPATH": str(code)}
    env.setdefault("SECRET_KEY", "bench-only")
    processes.prepare_database(url, env=env, cwd=code)
    return url


def activate(count: int) -> int:
    """The default pack and the first ``count`` SigmaHQ detection rules active."""
    from correlation.engine.ruleset import bump_generation
    from correlation.models import CorrelationRule

    CorrelationRule.objects.exclude(origin__startswith="rulepack/").update(is_active=False)
    chosen = (
        CorrelationRule.objects.exclude(origin__startswith="rulepack/")
        .filter(rule_type="detection")
        .order_by("sigma_id")
        .values_list("pk", flat=True)[:count]
    )
    CorrelationRule.objects.filter(pk__in=list(chosen)).update(is_active=True)
    bump_generation()
    return CorrelationRule.objects.filter(is_active=True).count()


def one_batch(count: int, ip: str) -> str:
    from django.utils import timezone

    from events.ingest import events_ingest
    from events.models import IngestBatch, Source
    from events.parsers import RawRecord
    from socapp.models import Team

    team = Team.objects.first()
    assert team is not None, "the bench needs a team (make run's bootstrap makes some)"
    source, _ = Source.objects.get_or_create(
        name="bench sshd", defaults={"format": "syslog", "team": team}
    )
    start = (timezone.now() - timedelta(hours=3)).replace(microsecond=0)
    lines = [
        f"<38>1 {(start + timedelta(seconds=n)).isoformat()} srv1 sshd 1 - - "
        f"Failed password for root from {ip} port 4242 ssh2"
        for n in range(count)
    ]
    result = events_ingest(
        source=source, records=[RawRecord(n, x) for n, x in enumerate(lines, 1)], transport="api"
    )
    IngestBatch.objects.filter(pk=result.batch_id).update(correlated_at=None)
    return str(result.batch_id)


def redis_counters() -> tuple[int, int, int]:
    """Commands, bytes sent back, and requests read by the server (round trips)."""
    from socapp.kv import kv

    redis = kv()
    commands = sum(v["calls"] for v in redis.info("commandstats").values())
    stats = redis.info("stats")
    return commands, int(stats["total_net_output_bytes"]), int(stats["total_reads_processed"])


def child(args: argparse.Namespace) -> None:
    code = Path(args.code)
    sys.path.insert(0, str(code))
    os.chdir(code)
    url = prepare(code, args.label)
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="socapp.settings.base",
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL=REDIS_URL,
        CORRELATION_BATCH_BUDGET_SECONDS="0",  # one attempt: the time it takes, unsplit
    )
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()
    from correlation.services import batch_correlate, import_rules
    from incidents.models import Alert
    from socapp.kv import kv
    from socapp.shared_data import shared_data_dir

    kv().flushdb()
    if args.sigma:
        import_rules([shared_data_dir() / "sigma" / "rules"], actor=None, active=False)
    active = activate(args.sigma)
    from correlation.engine.ruleset import active_ruleset

    active_ruleset(force=True)  # compiled once, before the clock (as in a running worker)
    print(json.dumps({"label": args.label, "active_rules": active}), flush=True)
    for run in range(1, args.runs + 1):
        for index, size in enumerate(int(s) for s in args.sizes.split(",") if s):
            ip = f"198.51.{run}.{index + 1}"  # a fresh address: nothing of it in Redis
            batch_id = one_batch(size, ip)
            before = redis_counters()
            started = time.perf_counter()
            batch_correlate(batch_id=batch_id)
            seconds = time.perf_counter() - started
            after = redis_counters()
            alerts = Alert.objects.filter(
                rule__sigma_name="socapp_ssh_brute_force", group_key=f"source.ip={ip}"
            ).count()
            row = {
                "label": args.label,
                "run": run,
                "size": size,
                "seconds": seconds,
                "commands_per_event": (after[0] - before[0]) / size,
                "bytes_per_event": (after[1] - before[1]) / size,
                "round_trips_per_event": (after[2] - before[2]) / size,
                "alerts": alerts,
            }
            print(json.dumps(row), flush=True)
    from django.db import connections

    connections.close_all()
    processes.drop_database(database(args.label))


# ---- the driver -----------------------------------------------------------------------


def run_version(label: str, code: Path, sizes: str, args: argparse.Namespace) -> list[dict]:
    command = [
        sys.executable, __file__, "--child", "--label", label, "--code", str(code),
        "--sizes", sizes, "--runs", str(args.runs), "--sigma", str(args.sigma),
    ]  # fmt: skip
    rows = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=code) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                print(line.rstrip(), flush=True)
                rows.append(json.loads(line))
    if proc.returncode:
        raise SystemExit(f"{label} run failed ({proc.returncode})")
    return rows


def report(rows: list[dict], args: argparse.Namespace) -> None:
    print(f"\n{datetime.now(tz=UTC):%Y-%m-%d}, {machine()}, {args.runs} runs, median\n")
    print("| code | failed logons in one batch | seconds | events/s | Redis commands / event "
          "| bytes read / event | round trips / event | brute-force alerts |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for label in ("old", "new"):
        sizes = sorted({r["size"] for r in rows if r.get("label") == label and "size" in r})
        for size in sizes:
            runs = [r for r in rows if r.get("label") == label and r.get("size") == size]
            seconds = statistics.median(r["seconds"] for r in runs)
            each = ", ".join(f"{r['seconds']:.2f}" for r in runs)
            commands = statistics.median(r["commands_per_event"] for r in runs)
            read = statistics.median(r["bytes_per_event"] for r in runs)
            trips = statistics.median(r.get("round_trips_per_event", 0) for r in runs)
            print(
                f"| {label} | {size:,} | {seconds:.2f} ({each}) | {size / seconds:,.0f} "
                f"| {commands:.1f} | {read:,.0f} | {trips:.2f} | {runs[0]['alerts']} |"
            )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"brute-force-{stamp}.json").write_text(json.dumps(rows, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="500,1000,2000,5000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sigma", type=int, default=1000, help="active SigmaHQ rules")
    parser.add_argument("--old-code", help="another checkout to measure the same way")
    parser.add_argument("--old-sizes", default="100,200,400")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="new", help=argparse.SUPPRESS)
    parser.add_argument("--code", default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rows = []
    if args.old_code:
        rows += run_version("old", Path(args.old_code).resolve(), args.old_sizes, args)
    rows += run_version("new", ROOT, args.sizes, args)
    report(rows, args)


if __name__ == "__main__":
    main()
