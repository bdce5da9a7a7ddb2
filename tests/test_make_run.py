"""`make run`, the way a new user runs it: it installs, migrates, loads demo data, starts
web, worker and beat, prints a URL and logins that work, and Ctrl-C stops everything."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings

from scripts.processes import free_port, port_accepts, start, wait_until
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

# Celery's routine lines, one set per beat tick (every 10 s) while idle.
ROUTINE_TASK_LINES = re.compile(r"Scheduler: Sending due task|\] received$|\] succeeded in", re.M)


def own_network_address() -> str | None:
    """An address of this machine other than loopback (the one its default route uses),
    or None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: UDP only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def project_copy(dest: Path) -> Path:
    """The project as a fresh clone would have it (tracked and new files, nothing ignored),
    sharing this checkout's virtualenv so that nothing is downloaded twice."""
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


class Output:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None  # started with stdout=PIPE
        for line in proc.stdout:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()

    def login(self, username: str, password: str) -> tuple[int, str, str]:
        _, _, page = self.get("/accounts/login/")
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert found, page
        token = found.group(1)
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/"}
        ).encode()
        with self.opener.open(self.base + "/accounts/login/", body, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()


def test_make_run_serves_the_console_with_demo_logins_and_stops_on_ctrl_c(tmp_path):
    workdir = project_copy(tmp_path / "socapp")
    database = f"test_makerun_{os.getpid()}"
    redis_url = settings.TEST_WORKER_BROKER_URL
    redis.Redis.from_url(redis_url).flushdb()
    port, syslog_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY"))}
    env.update(
        PORT=str(port),
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        SYSLOG_UDP_PORT=str(syslog_port),
        SYSLOG_TCP_PORT=str(syslog_port),
    )
    proc = start(["make", "run"], env=env, output=subprocess.PIPE, cwd=workdir, new_session=True)
    out = Output(proc)
    try:
        wait_until(
            lambda: "socapp is running at" in out.text or proc.poll() is not None,
            timeout=300,
            what="the make run banner",
        )
        assert proc.poll() is None, out.text[-5000:]
        assert f"socapp is running at http://127.0.0.1:{port}/" in out.text
        creds = dict(
            re.findall(
                r"^\s+(admin|analyst|manager)\s+(\S+)\s*$",
                out.text.split("socapp is running at")[1],
                re.MULTILINE,
            )
        )
        assert set(creds) == {"admin", "analyst", "manager"}
        # Every process speaks (the web may answer before the worker has said a word).
        wait_until(
            lambda: all(
                f"{name:>6} | " in out.text for name in ("web", "worker", "beat", "syslog")
            ),
            timeout=60,
            what="output from web, worker, beat and syslog",
        )

        base = f"http://127.0.0.1:{port}"
        status, url, page = Browser(base).get("/")
        assert url.startswith(base + "/accounts/login/") and "Log in to socapp" in page
        admin = Browser(base)
        status, url, page = admin.login("admin", creds["admin"])
        assert (status, url) == (200, base + "/") and "Overview" in page
        assert "SSH brute force" in page  # the demo story's alert
        assert "demo data: created" in out.text  # correlated before the login is printed
        assert "socapp administration" in admin.get("/admin/")[2]
        assert "swagger" in admin.get("/api/docs/")[2].lower()
        alerts = json.loads(admin.get("/api/v1/alerts/")[2])
        assert alerts["count"] >= 2
        analyst = Browser(base)
        assert analyst.login("analyst", creds["analyst"])[1] == base + "/"

        # The syslog listener takes a message, and the analyst finds it through the API.
        # (It may still be starting when the web banner appears: wait for its port.)
        wait_until(lambda: port_accepts(syslog_port), timeout=30, what="the syslog listener")
        subprocess.run(
            [
                "logger",
                "-n",
                "127.0.0.1",
                "-P",
                str(syslog_port),
                "-T",
                "-t",
                "sshd",
                "Failed password for root from 192.0.2.201 port 4040 ssh2",
            ],
            check=True,
        )
        found = wait_until(
            lambda: json.loads(analyst.get("/api/v1/events/?source_ip=192.0.2.201")[2])["results"],
            timeout=30,
            what="the logger message in /api/v1/events/",
        )
        assert found[0]["event_type"] == "ssh_login_failed"
        # ... from this machine only: the demo's catch-all source is not for the network.
        assert f"syslog over TCP on 127.0.0.1:{syslog_port}" in out.text
        elsewhere = own_network_address()
        if elsewhere:
            assert not port_accepts(syslog_port, host=elsewhere)

        # Idle, beat ticks every 10 s; none of it (nor the tasks above) fills the terminal.
        time.sleep(11)
        assert not ROUTINE_TASK_LINES.search(out.text), ROUTINE_TASK_LINES.findall(out.text)

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        proc.wait(timeout=60)
        assert "stopping socapp" in out.text
        time.sleep(0.5)
        with pytest.raises(OSError):
            urllib.request.urlopen(base + "/health", timeout=2)
        leftovers = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, text=True)
        assert leftovers.stdout.strip() == "", "processes outlived Ctrl-C"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run(["pkill", "-9", "-f", str(workdir)], check=False)
        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
