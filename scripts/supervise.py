"""Run socapp's processes together for `make run`: web (ASGI), Celery worker, beat and,
once it exists, the syslog listener. Output is prefixed per process; Ctrl-C (or
SIGTERM) stops them all, and if one dies the others are stopped too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def commands(host: str, port: str) -> dict[str, list[str]]:
    procs = {
        "web": [
            str(BIN / "uvicorn"),
            "socapp.roof.asgi:application",
            "--host",
            host,
            "--port",
            port,
            "--lifespan",
            "off",
            "--no-access-log",
            "--no-proxy-headers",  # socapp reads X-Forwarded-For itself (TRUSTED_PROXIES)
        ],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "socapp",
            "worker",
            "--loglevel",
            "INFO",
            "--queues",
            "default,ingest,correlation,maintenance",
            "--concurrency",
            "2",
            "--hostname",
            "worker@%h",
        ],
        "beat": [str(BIN / "celery"), "-A", "socapp", "beat", "--loglevel", "INFO"],
    }
    if (ROOT / "events" / "management" / "commands" / "syslogd.py").exists():
        procs["syslog"] = [str(BIN / "python"), "manage.py", "syslogd"]
    return procs


class Supervisor:
    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def start(self, name: str, cmd: list[str]) -> None:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches us; we stop them in order
        )
        self.procs[name] = proc
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self.lock:
                sys.stdout.write(f"{name:>6} | {line}")
                sys.stdout.flush()

    def stop(self, *_: object) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        print("\n==> stopping socapp …", flush=True)
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def watch(self) -> int:
        while not self.stopping.is_set():
            for name, proc in self.procs.items():
                code = proc.poll()
                if code is not None:
                    print(f"==> {name} exited with status {code}; stopping the rest", flush=True)
                    self.stop()
                    return code or 1
            time.sleep(0.5)
        return 0


def wait_until_serving(url: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def banner(url: str) -> str:
    lines = ["", "=" * 70, f"  socapp is running at {url}"]
    try:
        creds = json.loads((ROOT / "var" / "demo-credentials.json").read_text())
        lines.append("  Demo logins:")
        lines += [f"    {user:8} {password}" for user, password in creds.items()]
    except (OSError, ValueError):
        pass
    lines += [
        f"  Admin: {url}admin/   API docs: {url}api/docs/",
        "  Ctrl-C stops web, worker, beat and the syslog listener.",
        "=" * 70,
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"  # noqa: S104
    supervisor = Supervisor()
    signal.signal(signal.SIGINT, supervisor.stop)
    signal.signal(signal.SIGTERM, supervisor.stop)
    for name, cmd in commands(host, port).items():
        supervisor.start(name, cmd)
    if wait_until_serving(url):
        with supervisor.lock:
            print(banner(url), flush=True)
    return supervisor.watch()


if __name__ == "__main__":
    sys.exit(main())
