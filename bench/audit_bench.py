"""What auditing costs, measured against the real PostgreSQL and Redis.

    .venv/bin/python bench/audit_bench.py [--repeats 40] [--alerts 500] [--entries 20000]

1. Read audits: the alert list (REST /api/v1/alerts/, a page of 50) and the alert queue
   page, requested in-process (Django's test client: middleware, view, queries, the
   audit entry; no network) with AUDIT_READS on and off, alternating request by request
   so that both see the same machine. The difference of the medians is what one read
   entry costs (the chain's advisory lock, the head lookup, one INSERT, a commit).
2. A flood of bad tokens: a request with an unknown personal token inside the burst
   (the entry is written) and beyond it (only counted in Redis).
3. `audit_verify` over --entries entries (and --entries / 10 anchors), median of 3.

Prints medians and p95 as Markdown. Uses a database of its own (socapp_audit_bench),
dropped at the end; Redis from REDIS_URL (its keys under socapp:audit:bound are cleared).
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

from ingest_bench import machine  # noqa: E402

from scripts import processes  # noqa: E402

DB_NAME = "socapp_audit_bench"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def prepare(base_url: str) -> str:
    url = processes.database_url(base_url, DB_NAME)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "socapp.settings.base"}
    processes.prepare_database(url, env=env, bootstrap=False)  # its reference data: below
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="socapp.settings.base")
    import django

    django.setup()
    from socapp.audit_access import forget_bounds
    from socapp.roof.bootstrap import (
        BootstrapReport,
        ensure_default_team,
        ensure_roles,
        ensure_severities,
    )

    report = BootstrapReport()
    ensure_severities(report)
    ensure_roles(report)
    ensure_default_team(report)
    forget_bounds()
    return url


def drop(base_url: str) -> None:
    from django.db import connections

    connections.close_all()
    processes.drop_database(processes.database_url(base_url, DB_NAME))


def analyst_with_alerts(count: int):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from incidents.models import Severity
    from incidents.services import alert_create
    from socapp import roles
    from socapp.models import Team

    team = Team.objects.get(name="SOC")
    analyst = get_user_model().objects.create_user("bench_analyst", password="x" * 16)
    analyst.groups.add(Group.objects.get(name=roles.ANALYST))
    team.members.add(analyst)
    high = Severity.objects.get(name="high")
    for n in range(count):
        alert_create(
            title=f"bench alert {n}",
            severity=high,
            team=team,
            details={"entities": {"source.ip": f"198.18.{n // 250}.{n % 250 + 1}"}},
        )
    return analyst


def read_overhead(analyst, repeats: int) -> dict[str, dict[str, list[float]]]:
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_USER_AGENT="audit-bench")
    client.force_login(analyst)
    times: dict[str, dict[str, list[float]]] = {}
    for name, path in (
        ("REST /api/v1/alerts/ (50 per page)", "/api/v1/alerts/"),
        ("alert queue page", "/alerts/"),
    ):
        samples: dict[str, list[float]] = {"on": [], "off": []}
        client.get(path)  # warm
        for _ in range(repeats):
            for mode in ("on", "off"):
                settings.AUDIT_READS = mode == "on"
                started = time.perf_counter()
                response = client.get(path)
                samples[mode].append(time.perf_counter() - started)
                assert response.status_code == 200, (path, response.status_code)
        times[name] = samples
    settings.AUDIT_READS = True
    return times


def token_flood(repeats: int) -> dict[str, list[float]]:
    from django.conf import settings
    from django.test import Client

    from socapp.audit_access import forget_bounds

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION="Bearer socapp_pat_" + "q" * 43)
    forget_bounds()
    settings.AUDIT_FAILURE_BURST = repeats  # the first `repeats` are written
    samples: dict[str, list[float]] = {"written (inside the burst)": [], "counted only": []}
    for phase in samples:
        for _ in range(repeats):
            started = time.perf_counter()
            assert client.get("/api/v1/alerts/").status_code == 401
            samples[phase].append(time.perf_counter() - started)
    forget_bounds()
    return samples


def verify_time(entries: int) -> list[float]:
    from socapp.audit import AuditItem, audit_record_many, audit_verify
    from socapp.audit_anchor import audit_anchor_write

    for start in range(0, entries, 1000):
        items = [
            AuditItem("bench.change", changes={"n": n, "v": n * 1.5e10})
            for n in range(start, min(entries, start + 1000))
        ]
        audit_record_many(actor=None, items=items)
        for _ in range(100):
            audit_anchor_write()
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        assert audit_verify() == []
        runs.append(time.perf_counter() - started)
    return runs


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def report(reads, flood, verify, args) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n## Audit costs ({stamp}; {machine()})\n")
    print(f"Read audits, {args.repeats} requests each way, {args.alerts} alerts stored:\n")
    print("| request | AUDIT_READS off (median / p95) | on (median / p95) | read entry costs |")
    print("|---|---|---|---|")
    for name, samples in reads.items():
        off, on = samples["off"], samples["on"]
        extra = statistics.median(on) - statistics.median(off)
        print(
            f"| {name} | {ms(statistics.median(off))} / {ms(p95(off))} | "
            f"{ms(statistics.median(on))} / {ms(p95(on))} | {ms(extra)} |"
        )
    print(f"\nA bad personal token (401), {args.repeats} requests each:\n")
    print("| | median | p95 |\n|---|---|---|")
    for name, samples in flood.items():
        print(f"| {name} | {ms(statistics.median(samples))} | {ms(p95(samples))} |")
    median = statistics.median(verify)
    print(
        f"\n`audit_verify` over {args.entries:,} entries and {args.entries // 10:,} anchors: "
        f"median {median:.2f} s of 3 ({args.entries / median:,.0f} entries/s)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-only")
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socapp")
    prepare(base_url)
    try:
        analyst = analyst_with_alerts(args.alerts)
        reads = read_overhead(analyst, args.repeats)
        flood = token_flood(args.repeats)
        verify = verify_time(args.entries)
    finally:
        drop(base_url)
    report(reads, flood, verify, args)


if __name__ == "__main__":
    main()
