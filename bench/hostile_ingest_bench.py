"""What hostile input costs a real web process: wall time and peak RSS per case.

    .venv/bin/python bench/hostile_ingest_bench.py [--runs 3] [--cases rest-gzip-bomb,...]

For each run of each case it starts a fresh ``uvicorn socapp.roof.asgi:application`` on a
free port against a scratch database (socapp_hostile_bench, or $BENCH_DATABASE, dropped
at the end), warms it up with one small upload, resets its peak RSS
(``/proc/<pid>/clear_refs``), sends the case over HTTP (the REST API and HEC with a
source token, the upload page as a logged-in analyst), times the answer, reads the new
peak (VmHWM) and counts the rows written. A fresh process per run, so that memory freed
by one case cannot hide the growth of the next. It prints a Markdown table of medians and
writes the runs as JSON lines to bench/results/.

The inputs are built here, never stored: tests/events/hostile.py.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import os
import re
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("BENCH_DATABASE", "socapp_hostile_bench")

from ingest_bench import (  # noqa: E402 - after the path and database name are set
    drop_database,
    machine,
    postgres_version,
    prepare_database,
    truncate_event_tables,
)

from scripts import processes  # noqa: E402
from tests.events.hostile import MiB, gzip_bomb, gzip_of  # noqa: E402

PASSWORD = "bench-only correct horse battery"  # noqa: S105 - a scratch database's user
SSHD = b"<13>Nov 28 04:03:59 fw sshd[1]: Failed password for root from 198.51.100.%d port 22 ssh2\n"


@dataclass
class Case:
    name: str
    what: str
    send: Callable[[Web], tuple[int, str]]
    settings: dict[str, str] = field(default_factory=dict)  # for this case's web process


class Web:
    """The running web process and the ways to talk to it."""

    def __init__(self, base: str, pid: int, token: str, source_id: str) -> None:
        self.base, self.pid, self.token, self.source_id = base, pid, token, source_id
        jar = http.cookiejar.CookieJar()
        self.browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self.jar = jar

    def post(self, path: str, body: bytes, **headers: str) -> tuple[int, str]:
        request = urllib.request.Request(  # noqa: S310 - a loopback URL we built
            self.base + path, data=body, method="POST", headers=headers
        )
        return _answer(lambda: urllib.request.urlopen(request, timeout=1800))  # noqa: S310

    def ingest(self, body: bytes, **headers: str) -> tuple[int, str]:
        return self.post(
            "/api/v1/ingest/",
            body,
            Authorization=f"Bearer {self.token}",
            **{"Content-Type": "text/plain", **headers},
        )

    def hec(self, body: bytes) -> tuple[int, str]:
        return self.post("/services/collector/event", body, Authorization=f"Splunk {self.token}")

    def _csrf(self, path: str) -> str:
        with self.browser.open(self.base + path, timeout=60) as response:
            page = response.read().decode()
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, username: str) -> None:
        token = self._csrf("/accounts/login/")
        body = urllib.parse.urlencode(
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
        ).encode()
        self.browser.open(self.base + "/accounts/login/", data=body, timeout=60).read()

    def upload(self, name: str, data: bytes) -> tuple[int, str]:
        token = self._csrf("/events/upload/")
        boundary = uuid.uuid4().hex
        parts = [
            _field(boundary, "csrfmiddlewaretoken", token.encode()),
            _field(boundary, "source", self.source_id.encode()),
            _field(boundary, "log_format", b""),
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + data
            + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        request = urllib.request.Request(  # noqa: S310
            self.base + "/events/upload/",
            data=b"".join(parts),
            method="POST",
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Referer": self.base + "/events/upload/",
            },
        )
        return _answer(lambda: self.browser.open(request, timeout=1800))


def _field(boundary: str, name: str, value: bytes) -> bytes:
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
    return head.encode() + value + b"\r\n"


def _answer(call: Callable) -> tuple[int, str]:
    try:
        with call() as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _detail(status: int, text: str) -> str:
    """What the answer says, in a few words, for the table."""
    try:
        body = json.loads(text)
        if "detail" in body:
            return f"{status} {body['detail'][:70]}"
        return f"{status} accepted {body.get('accepted')}, quarantined {body.get('quarantined')}"
    except ValueError:
        found = re.search(r'role="alert">([^<]+)<', text)
        accepted = re.search(r'id="accepted">(\d+)<', text)
        if found:
            return f"{status} {found.group(1)[:70]}"
        return f"{status} accepted {accepted.group(1) if accepted else '?'}"


def cases() -> list[Case]:
    bomb = gzip_bomb()
    newlines = gzip_of(b"\n", 64 * MiB)
    tiny = gzip_of(b"a\n", 2 * MiB)
    good = b"".join(SSHD % (n % 250) for n in range(50_000))
    gzipped = {"Content-Encoding": "gzip"}
    return [
        Case(
            "rest-gzip-bomb",
            f"1 GiB of zeros, {len(bomb):,} B gzip",
            lambda w: w.ingest(bomb, **gzipped),
        ),
        Case("hec-gzip-bomb", "the same, to HEC", lambda w: w.hec(bomb)),
        Case("upload-gzip-bomb", "the same, as logs.gz", lambda w: w.upload("logs.gz", bomb)),
        Case(
            "upload-64MiB-newlines",
            f"64 MiB of newlines, {len(newlines):,} B gzip",
            lambda w: w.upload("empty.log.gz", newlines),
        ),
        Case(
            "rest-1M-lines-gzip",
            f"1,048,576 one-byte lines, {len(tiny):,} B gzip",
            lambda w: w.ingest(tiny, **gzipped),
        ),
        Case(
            "rest-1M-lines-plain", "the same, 2 MiB plain", lambda w: w.ingest(b"a\n" * (1 << 20))
        ),
        Case(
            "rest-16MiB-newlines",
            "16 MiB of newlines, plain (0 records)",
            lambda w: w.ingest(b"\n" * (16 * MiB)),
        ),
        Case(
            "rest-50k-garbage",
            "50,000 lines that are not syslog",
            lambda w: w.ingest(b"x\n" * 50_000),
        ),
        Case(
            "rest-50k-sshd",
            f"50,000 sshd lines ({len(good) / MiB:.1f} MiB): the records limit",
            lambda w: w.ingest(good),
        ),
        # With the ratio guard off, the size caps alone (a bomb built to inflate 199 times).
        Case(
            "rest-gzip-bomb-no-ratio",
            "the 1 GiB bomb, DECOMPRESSION_MAX_RATIO off",
            lambda w: w.ingest(bomb, **gzipped),
            {"DECOMPRESSION_MAX_RATIO": str(10**9)},
        ),
        Case(
            "upload-gzip-bomb-no-ratio",
            "the 1 GiB bomb as logs.gz, DECOMPRESSION_MAX_RATIO off",
            lambda w: w.upload("logs.gz", bomb),
            {"DECOMPRESSION_MAX_RATIO": str(10**9)},
        ),
        Case(
            "upload-64MiB-newlines-no-ratio",
            "64 MiB of newlines .gz, DECOMPRESSION_MAX_RATIO off",
            lambda w: w.upload("empty.log.gz", newlines),
            {"DECOMPRESSION_MAX_RATIO": str(10**9)},
        ),
        Case(
            "upload-1M-garbage",
            "1,048,576 lines that are not syslog, a 2 MiB plain upload",
            lambda w: w.upload("junk.log", b"x\n" * (1 << 20)),
        ),
    ]


def rss(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for {pid}")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM quarantine), "
            "(SELECT count(*) FROM ingest_batches)"
        )
        events, quarantine, batches = cursor.fetchone()
    return {"events": events, "quarantine_rows": quarantine, "batches": batches}


def setup_people() -> tuple[str, str]:
    from django.contrib.auth.models import Group

    from events.services import source_create
    from socapp import roles
    from socapp.models import Team
    from tests.factories import UserFactory

    team = Team.objects.get(name="SOC")
    source, token = source_create(name="hostile", log_format="syslog", team=team, actor=None)
    analyst = UserFactory.create(username="bench-analyst", password=PASSWORD)
    analyst.groups.add(Group.objects.get(name=roles.ANALYST))
    team.members.add(analyst)
    return str(source.pk), token


@contextlib.contextmanager
def running_web(env: dict[str, str], token: str, source_id: str) -> Iterator[Web]:
    port = processes.free_port()
    web = processes.start_web(port, env=env, log_level="error")
    try:
        processes.wait_until_serving(f"http://127.0.0.1:{port}")
        client = Web(f"http://127.0.0.1:{port}", web.pid, token, source_id)
        client.login("bench-analyst")
        client.upload("warm.log", SSHD % 1)  # what every later request uses is loaded now
        client.ingest(SSHD % 2)
        truncate_event_tables()
        yield client
    finally:
        processes.stop(web, timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "bench-only")
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socapp")
    url = prepare_database(base_url)
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "socapp.settings.base"
    import django

    django.setup()
    source_id, token = setup_people()
    chosen = [c for c in cases() if not args.cases or c.name in args.cases.split(",")]
    env = {**os.environ, "DATABASE_URL": url}
    results: list[dict] = []
    try:
        for case in chosen:
            for run in range(1, args.runs + 1):
                truncate_event_tables()
                with running_web({**env, **case.settings}, token, source_id) as client:
                    before = rss(client.pid, "VmRSS")
                    reset_peak(client.pid)
                    started = time.perf_counter()
                    status, text = case.send(client)
                    elapsed = time.perf_counter() - started
                    peak = rss(client.pid, "VmHWM")
                row = {
                    "case": case.name,
                    "run": run,
                    "seconds": elapsed,
                    "rss_before": before,
                    "rss_peak": peak,
                    "answer": _detail(status, text),
                    **counts(),
                }
                print(json.dumps(row), flush=True)
                results.append(row)
    finally:
        version = postgres_version()
        from django.db import connections

        connections.close_all()
        drop_database(base_url)
    report(results, chosen, args, version)


def report(results: list[dict], chosen: list[Case], args: argparse.Namespace, version: str) -> None:
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"hostile-{stamp}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    print(
        f"\n{datetime.now(tz=UTC):%Y-%m-%d}, {machine()}, PostgreSQL {version}, "
        f"{args.runs} runs per case, one uvicorn process\n"
    )
    print("| case | input | answer | median s | median peak RSS growth | rows written |")
    print("|---|---|---|---|---|---|")
    for case in chosen:
        rows = [r for r in results if r["case"] == case.name]
        seconds = statistics.median(r["seconds"] for r in rows)
        growth = statistics.median(max(0, r["rss_peak"] - r["rss_before"]) for r in rows) / MiB
        last = rows[-1]
        written = f"{last['events']:,} events, {last['quarantine_rows']:,} quarantine rows"
        print(
            f"| {case.name} | {case.what} | {last['answer']} | {seconds:.2f} | "
            f"{growth:,.1f} MiB | {written} |"
        )


if __name__ == "__main__":
    main()
