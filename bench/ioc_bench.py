"""Ingest throughput with 100,000 active indicators against the same run without any.

    .venv/bin/python bench/ioc_bench.py [--events 50000] [--runs 5] [--indicators 100000]
                                        [--passes 2]

Issue 15 asks that matching every event against 100,000 active indicators costs ingest
at most 15 % of its throughput. For each dataset (sshd, Suricata EVE, Windows JSON;
bench/datasets.py) and each run, the same lines are ingested in this process
(``file_ingest``: read, parse, normalize, enrich and match, COPY, commit) twice, from
empty event tables: once with the indicator feed switched off (no active indicators),
once with it on. The indicators are a mix of IPv4 addresses, CIDR ranges (/8 to /30),
domains, SHA-256 hashes, URLs and e-mail addresses, plus a few dozen addresses taken from
the dataset itself, so that some events do match (and pay for their IocMatch rows and
``threat.enrichments``). Each switch rebuilds the process's index before the timing
starts (a rebuild happens once per change, not per batch); its time is printed apart.
With ``--passes 2`` (the default) a run is A-B-B-A (B-A-A-B the next), and each side's
faster pass counts: on two cores shared with PostgreSQL a single pass of 50,000 events
varies by ±15 %, and interference only ever slows a pass down.

The script prints a Markdown table of medians (events/s without and with indicators, the
median of each run's ratio), and writes the raw numbers as JSON lines to bench/results/.
It uses its own database (socapp_iocbench, or $BENCH_DATABASE) and drops it at the end,
and its own Redis database ($BENCH_REDIS_URL, default redis://127.0.0.1:6379/12).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("BENCH_DATABASE", "socapp_iocbench")

import ingest_bench  # noqa: E402 - after the repository root is on the path

TLDS = ["com", "net", "org", "info", "ru", "cn", "xyz", "top"]
IPV4 = re.compile(rb"\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b")


def indicator_values(count: int, lines: list[bytes], seed: int = 7) -> list[tuple[str, str]]:
    """``count`` (type, value) pairs of mixed types, none on a warning list (so that all
    ``count`` are active in the index); 50 are addresses that one line each carries
    (indicator hits are rare in real traffic: a few hundred events per run match)."""
    from intel.warninglists import hit

    rng = random.Random(seed)
    counts = Counter(m.decode() for line in lines for m in set(IPV4.findall(line)))
    once = sorted(ip for ip, n in counts.items() if n == 1)  # one event each: rare hits
    carried = [("ipv4", ip) for ip in rng.sample(once, min(50, len(once)))]
    values: set[tuple[str, str]] = {pair for pair in carried if not hit(*pair)}

    def keep(pair: tuple[str, str]) -> None:
        if not hit(*pair):
            values.add(pair)

    octet = lambda: rng.randint(1, 223)  # noqa: E731 - a one-line helper
    while len(values) < count:
        kind = rng.random()
        if kind < 0.35:
            keep(("ipv4", f"{octet()}.{octet()}.{octet()}.{octet()}"))
        elif kind < 0.45:
            length = rng.choice([18, 20, 22, 24, 24, 24, 24, 26, 28])
            mask = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF
            number = rng.getrandbits(32) & mask
            if number >> 24 in (0, 10, 127, 198, 192, 172) or number >> 24 > 223:
                continue  # not private, loopback or the datasets' own ranges
            address = ".".join(str(number >> s & 255) for s in (24, 16, 8, 0))
            keep(("cidr", f"{address}/{length}"))
        elif kind < 0.70:
            name = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(5, 12)))
            keep(("domain", f"{name}.{rng.choice(TLDS)}"))
        elif kind < 0.85:
            keep(("sha256", f"{rng.getrandbits(256):064x}"))
        elif kind < 0.93:
            name = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=8))
            keep(("url", f"http://{name}.{rng.choice(TLDS)}/p/{rng.getrandbits(32):x}"))
        else:
            name = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=8))
            keep(("email", f"{name}@{name[::-1]}.{rng.choice(TLDS)}"))
    return sorted(values)


def load_indicators(pairs: list[tuple[str, str]]) -> Any:
    """The feed (switched off) with its indicators, written in bulk (no retro-hunts)."""
    from intel.models import IOC, ThreatIntel

    IOC.objects.all().delete()
    feed, _ = ThreatIntel.objects.update_or_create(
        source_name="bench-feed", defaults={"is_active": False}
    )
    rng = random.Random(11)
    IOC.objects.bulk_create(
        [
            IOC(intel=feed, ioc_type=kind, value=value, confidence_score=rng.random())
            for kind, value in pairs
        ],
        batch_size=10_000,
    )
    return feed


def switch(feed: Any, on: bool) -> tuple[int, float]:
    """Turn the feed on or off and rebuild this process's index (outside the timing)."""
    from intel.indicator_set import indicator_set

    feed.is_active = on
    feed.save()  # its signal bumps the version
    started = time.perf_counter()
    indicator_set.forget()
    size = len(indicator_set.fresh())
    return size, time.perf_counter() - started


def empty_tables() -> None:
    from django.db import connection

    ingest_bench.truncate_event_tables()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE ioc_matches")
        cursor.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--indicators", type=int, default=100_000)
    parser.add_argument("--datasets", default="sshd,suricata,windows")
    parser.add_argument(
        "--passes",
        type=int,
        choices=(1, 2),
        default=2,
        help="passes per side and run (A-B or A-B-B-A); the faster counts",
    )
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "bench-only")
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socapp")
    url = ingest_bench.prepare_database(base_url)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "socapp.settings.base"
    os.environ["REDIS_URL"] = os.environ["CELERY_BROKER_URL"] = ingest_bench.REDIS_URL
    import django

    django.setup()
    import redis
    from datasets import DATASETS

    from events.services import source_create
    from intel.models import IocMatch
    from socapp.models import Team

    redis.Redis.from_url(ingest_bench.REDIS_URL).flushdb()
    results: list[dict] = []
    builds: list[float] = []
    team = Team.objects.get(name="SOC")
    try:
        for name in args.datasets.split(","):
            log_format, make = DATASETS[name]
            lines = make(args.events)
            source, _ = source_create(
                name=f"bench-{name}", log_format=log_format, team=team, actor=None
            )
            feed = load_indicators(indicator_values(args.indicators, lines))
            for run in range(1, args.runs + 1):
                row: dict = {"dataset": name, "run": run, "events": len(lines)}
                # A-B-B-A (B-A-A-B the next run): drift over the run hits both sides alike;
                # each side's faster pass counts (interference only ever slows a pass).
                first, second = (False, True) if run % 2 else (True, False)
                state: bool | None = None
                for on in (first, second, second, first)[: 2 * args.passes]:
                    if on != state:
                        size, seconds = switch(feed, on)
                        state = on
                        if on:
                            builds.append(seconds)
                            row["indicators"] = size
                    empty_tables()
                    key = "with" if on else "without"
                    rate = len(lines) / ingest_bench.measure_file(source, lines)
                    row[key] = max(row.get(key, 0.0), rate)
                    if on:
                        row["matches"] = IocMatch.objects.count()
                row["ratio"] = row["with"] / row["without"]
                print(json.dumps(row), flush=True)
                results.append(row)
        version = ingest_bench.postgres_version()
    finally:
        from django.db import connections

        connections.close_all()
        ingest_bench.drop_database(base_url)
    report(results, builds, args, version)


def report(
    results: list[dict], builds: list[float], args: argparse.Namespace, version: str
) -> None:
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"ioc-{stamp}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    print(
        f"\n{datetime.now(tz=UTC):%Y-%m-%d}, {ingest_bench.machine()}, PostgreSQL {version}, "
        f"{args.events:,} events per run, {args.runs} runs of {args.passes} pass(es) a side, "
        f"{args.indicators:,} indicators; "
        f"index build median {statistics.median(builds):.2f} s\n"
    )
    print("| dataset | without (events/s) | with (events/s) | matches | median ratio | runs |")
    print("|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["dataset"] for r in results):
        rows = [r for r in results if r["dataset"] == name]
        ratios = [r["ratio"] for r in rows]
        print(
            f"| {name} | {statistics.median(r['without'] for r in rows):,.0f} | "
            f"{statistics.median(r['with'] for r in rows):,.0f} | {rows[-1]['matches']:,} | "
            f"{statistics.median(ratios):.2f} | {', '.join(f'{v:.2f}' for v in ratios)} |"
        )


if __name__ == "__main__":
    main()
