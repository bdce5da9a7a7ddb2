"""The console's figures, measured against the real stack.

    .venv/bin/python bench/console_bench.py [--runs 15] [--events 1000000] [--alerts 20000]

1. Live latency: uvicorn and a Celery worker (as `make run` starts them) on a database of
   their own; headless Chromium (Debian's, through Playwright) logged in as an analyst
   with the alert queue open. Each run ingests one sshd line that fires a rule and times
   from the ingest answer to the alert's row in the page. Baseline, for the same alert
   in the same run: a REST client polling /api/v1/alerts/ every 10 ms from the same
   moment (the pipeline without the push and the page).
2. Server time at scale: --events events and --alerts alerts stored, then the alert
   queue page, its filtered and catch-up forms, the REST list, an alert's page and the
   dashboard (page and API, 24 h and 7 d), each requested 20 times in-process (Django's
   test client: view, queries, rendering; no network). Baseline: the severities list
   (one tiny query) in the same run.

Prints medians and p95 as Markdown, writes raw numbers to bench/results/ as JSON lines.
Uses its own database (socapp_bench) and drops it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ingest_bench  # noqa: E402
from ingest_bench import machine  # noqa: E402

from scripts import processes  # noqa: E402

PASSWORD = "bench only password 1"  # noqa: S105 - a throwaway user in a throwaway database
RULE = """
title: Root login accepted (console bench)
id: {id}
logsource: {{product: linux, service: sshd}}
detection:
  selection: {{event.action: ssh_login, event.outcome: success, user.name: root}}
  condition: selection
level: high
"""


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def setup(url: str) -> dict[str, str]:
    # Its own Redis database (flushed): BENCH_REDIS_URL when several benches share a server.
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="socapp.settings.base",
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
    )
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return dict(os.environ)


def personas():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from correlation.services import rule_save
    from events.services import source_create
    from socapp import roles
    from socapp.models import Team

    team = Team.objects.get(name="SOC")
    User = get_user_model()
    analyst = User.objects.create_user("bench_analyst", password=PASSWORD)
    analyst.groups.add(Group.objects.get(name=roles.ANALYST))
    team.members.add(analyst)
    admin = User.objects.create_superuser("bench_admin", password=PASSWORD)
    rule_save(actor=admin, definition=RULE.format(id=uuid.uuid4()), is_active=True)
    source, token = source_create(name="bench-sshd", log_format="syslog", team=team, actor=None)
    return analyst, source, token


def _line(ip: str) -> bytes:
    now = datetime.now(UTC).isoformat()
    return f"<38>1 {now} srv1 sshd 1 - - Accepted password for root from {ip} port 22 ssh2".encode()


def _ingest(url: str, token: str, ip: str) -> float:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}/api/v1/ingest/",
        data=_line(ip),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()
    return time.perf_counter()


def _poll_rest(url: str, api_token: str, ip: str, out: dict) -> None:
    """The baseline: how soon the alert can be read at all."""
    deadline = time.perf_counter() + 30
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}/api/v1/alerts/?entity={ip}", headers={"Authorization": f"Bearer {api_token}"}
    )
    while time.perf_counter() < deadline:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            if json.loads(response.read())["results"]:
                out["rest"] = time.perf_counter()
                return
        time.sleep(0.01)


def live_latency(env: dict[str, str], runs: int, analyst, token: str) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from socapp.services import api_token_create
    from tests.live_console import chromium_path

    api_token = api_token_create(user=analyst, name="bench", actor=analyst, expires_days=1)[1]
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    processes.manage("collectstatic", "--noinput", "-v0", env=env)
    web = processes.start_web(port, env=env, log_level="warning")
    worker = processes.start_worker("default,ingest,correlation", env=env, log_level="WARNING")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop; see live_console
    rows = []
    try:
        processes.wait_until_serving(url)
        time.sleep(3)  # the worker's first connection to the broker
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=["--no-sandbox"]
            )
            page = browser.new_page()
            page.goto(f"{url}/accounts/login/")
            page.fill("input[name=username]", analyst.username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/")
            page.goto(f"{url}/alerts/")
            page.wait_for_selector("#live-state.on")
            for run in range(1, runs + 2):
                ip = f"198.18.{run // 250}.{run % 250 + 1}"
                seen: dict = {}
                answered = _ingest(url, token, ip)
                poller = threading.Thread(target=_poll_rest, args=(url, api_token, ip, seen))
                poller.start()
                page.wait_for_selector(f"#alert-queue tr:has-text('ip:{ip}')", timeout=30_000)
                in_page = time.perf_counter()
                poller.join()
                if run == 1:
                    continue  # warm-up: first connections, first compiled ruleset
                rows.append(
                    {
                        "run": run - 1,
                        "page_s": in_page - answered,
                        "rest_s": seen["rest"] - answered,
                    }
                )
            browser.close()
    finally:
        processes.stop(web, worker, timeout=20)
    return rows


def load_scale(source, events: int, alerts: int, analyst) -> None:
    from datasets import DATASETS
    from django.db import connection
    from django.db.models import F

    from events.ingest import events_ingest
    from events.parsers import RawRecord
    from incidents.entities import alert_entities
    from incidents.models import Alert, Severity

    _, make = DATASETS["sshd"]
    lines = make(events)
    for start in range(0, len(lines), 5000):
        chunk = lines[start : start + 5000]
        result = events_ingest(
            source=source,
            records=[RawRecord(n, line.decode()) for n, line in enumerate(chunk, 1)],
            transport="api",
        )
        assert result.quarantined == 0, result.errors[:3]
    severities = list(Severity.objects.all())
    now = datetime.now(UTC)
    Alert.objects.bulk_create(
        [
            Alert(
                title=f"bench alert {n}",
                severity=severities[n % len(severities)],
                team_id=source.team_id,
                status=("open", "acknowledged", "closed")[n % 3],
                close_reason="resolved" if n % 3 == 2 else "",
                details={
                    "entities": {
                        "source.ip": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                        "user.name": f"user{n % 500}",
                    }
                },
                entities=alert_entities(
                    {
                        "entities": {
                            "source.ip": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                            "user.name": f"user{n % 500}",
                        }
                    }
                ),
                triggered_at=now - timedelta(seconds=n * 30),
                last_seen_at=now - timedelta(seconds=n * 30),
            )
            for n in range(alerts)
        ],
        batch_size=5000,
    )
    # As if raised over time: each alert last changed when it was last seen, so the live
    # catch-up below reads what changed recently, not the whole bulk load.
    Alert.objects.update(updated_at=F("last_seen_at"))
    with connection.cursor() as cursor:
        # What beat does every few minutes; the dashboard reads this view, not the events.
        cursor.execute("REFRESH MATERIALIZED VIEW hourly_event_summary")
        cursor.execute("ANALYZE")


def _search_pages() -> dict[str, str]:
    """Event searches over the last 24 hours (all the stored events), from the rare to
    the common, indexed and not. Each page also counts its hits and draws their
    histogram (one GROUP BY over the range, within SEARCH_COUNT_TIMEOUT_MS)."""
    from events.models import Event

    sample = Event.objects.exclude(source_ip=None).order_by("event_time")[1000]
    ip, user = sample.source_ip, "oracle"

    def search(q: str) -> str:
        return "/events/search/?" + urlencode({"q": q, "range": "24h"})

    return {
        "search: everything (newest 50)": search(""),
        "search: source.ip, one address (column index)": search(f"source.ip:{ip}"),
        "search: source.ip:10.0.0.0/8 (CIDR)": search("source.ip:10.0.0.0/8"),
        "search: user.name (jsonb GIN, 1 in 10)": search(f"user.name:{user}"),
        "search: user and outcome, OR and NOT": search(
            f"(user.name:{user} OR user.name:git) AND NOT event.outcome:failure"
        ),
        "search: port comparison": search("source.port>=60000"),
        "search: host wildcard, no match (within its time budget)": search("host.name:web0*"),
        "search: free text, common": search('"Invalid user"'),
        # Quoted: unquoted, "SHA256:abc…" would be the field SHA256 (an indexed lookup).
        "search: free text, rare (answers within its time budget)": search('"SHA256:abc999999"'),
        "REST search: user.name": "/api/v1/events/search/?" + urlencode({"q": f"user.name:{user}"}),
        "entity page: an IP": f"/entities/ip/{ip}/",
    }


def _severity_cursor() -> str:
    """The second page's cursor of the queue sorted by severity (as its first page links)."""
    from incidents.filters import OPEN_STATUSES
    from incidents.models import Alert

    fiftieth = (
        Alert.objects.filter(status__in=OPEN_STATUSES)
        .select_related("severity")
        .order_by("-severity__level", "-id")[49]
    )
    return f"{fiftieth.severity.level:010d}|{fiftieth.pk}"


def server_times(analyst, repeats: int = 20) -> dict[str, list[float]]:
    from django.test import Client

    from incidents.models import Alert

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(analyst)
    newest = Alert.objects.filter(title__startswith="bench alert").order_by("-triggered_at")[0]
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    older = Alert.objects.order_by("-triggered_at", "-id")[50 * 19]
    pages = {
        "baseline: GET /api/v1/severities/": "/api/v1/severities/",
        "alert queue (open alerts)": "/alerts/",
        "alert queue, entity filter": "/alerts/?entity=user:user42&status=open",
        "alert queue, 20th page": f"/alerts/?before={older.triggered_at.isoformat()}|{older.pk}",
        "alert queue, sorted by count": "/alerts/?sort=-count",
        "alert queue, sorted by severity, 2nd page": "/alerts/?"
        + urlencode({"sort": "-severity", "before": _severity_cursor()}),
        "alert queue, grouped by rule and entity": "/alerts/?group=1",
        "live catch-up (rows changed in 5 min)": "/alerts/rows/?"
        + urlencode({"status": "open", "changed_since": since}),
        "REST /api/v1/alerts/?status=open": "/api/v1/alerts/?status=open",
        "alert page (with its events)": f"/alerts/{newest.pk}/",
        "dashboard API, 24 h": "/api/v1/dashboard/?hours=24",
        "dashboard API, 7 d (all the alerts)": "/api/v1/dashboard/?hours=168",
        "dashboard page, 24 h": "/dashboard/",
    }
    pages.update(_search_pages())
    times: dict[str, list[float]] = {}
    for name, path in pages.items():
        client.get(path)  # warm
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            response = client.get(path)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200, (path, response.status_code)
        times[name] = samples
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--alerts", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-only")
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socapp")
    url = ingest_bench.prepare_database(base_url)
    env = setup(url)
    try:
        analyst, source, token = personas()
        latency = live_latency(env, args.runs, analyst, token)
        load_scale(source, args.events, args.alerts, analyst)
        times = server_times(analyst)
    finally:
        from django.db import connections

        connections.close_all()
        ingest_bench.drop_database(base_url)
    report(latency, times, args)


def report(latency: list[dict], times: dict[str, list[float]], args) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = [r["page_s"] for r in latency]
    rest = [r["rest_s"] for r in latency]
    print(f"\n## Console ({stamp}; {machine()})\n")
    print(f"Ingest answer → alert row in the open queue, {len(page)} runs:\n")
    print("| path | median | p95 | ratio to REST poll |\n|---|---|---|---|")
    print(
        f"| REST poll (baseline) | {statistics.median(rest) * 1000:.0f} ms | "
        f"{p95(rest) * 1000:.0f} ms | 1.00 |"
    )
    print(
        f"| browser row | {statistics.median(page) * 1000:.0f} ms | {p95(page) * 1000:.0f} ms"
        f" | {statistics.median(page) / statistics.median(rest):.2f} |"
    )
    base = statistics.median(times["baseline: GET /api/v1/severities/"])
    print(
        f"\nServer time with {args.events:,} events and {args.alerts:,} alerts stored "
        "(20 requests each):\n"
    )
    print("| request | median | p95 | ratio to baseline |\n|---|---|---|---|")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(
            f"| {name} | {median * 1000:.1f} ms | {p95(samples) * 1000:.1f} ms | "
            f"{median / base:.1f} |"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    with (out / "console.jsonl").open("a") as fh:
        fh.write(
            json.dumps(
                {
                    "at": stamp,
                    "latency": latency,
                    "times": times,
                    "events": args.events,
                    "alerts": args.alerts,
                }
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
