"""Run socapp's processes together for `make run`: web (ASGI), Celery worker, beat and the
syslog listener. Output is prefixed per process; Ctrl-C (or SIGTERM) stops them all, and
if one dies the others are stopped too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import processes  # noqa: E402 - after the repository root is on the path

# The demo's syslog listener hears this machine only: it files senders no source names
# into a catch-all source, which is for trying `logger`, not for the network. SYSLOG_HOST
# (e.g. 0.0.0.0 in .env) opens it up, as deployments do (docs/OPERATIONS.md).
DEMO_SYSLOG_HOST = "127.0.0.1"


def commands(host: str, port: int, syslog_host: str = DEMO_SYSLOG_HOST) -> dict[str, list[str]]:
    # socapp reads X-Forwarded-For itself (TRUSTED_PROXIES), as in production.
    web = processes.web_command(port, host=host, proxy_headers=False)
    worker = processes.worker_command(
        "default,ingest,correlation,maintenance", concurrency=2, alone=False
    )
    return {
        "web": web,
        "worker": worker,
        "beat": processes.beat_command(),
        "syslog": processes.syslogd_command("--host", syslog_host),
    }


class Supervisor:
    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def start(self, name: str, cmd: list[str]) -> None:
        # Each in a session of its own: Ctrl-C reaches only us, and we stop them in order.
        proc = processes.start(cmd, env=os.environ, output=subprocess.PIPE, new_session=True)
        self.procs[name] = proc
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

    def _pump(self, name: str, proc: subprocess.Popen[str]) -> None:
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
        processes.stop(*self.procs.values(), timeout=15)

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
    port = int(os.environ.get("PORT", "8000"))
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"  # noqa: S104
    supervisor = Supervisor()
    signal.signal(signal.SIGINT, supervisor.stop)
    signal.signal(signal.SIGTERM, supervisor.stop)
    syslog_host = os.environ.get("SYSLOG_HOST") or DEMO_SYSLOG_HOST
    for name, cmd in commands(host, port, syslog_host).items():
        supervisor.start(name, cmd)
    try:
        processes.wait_until_serving(url, timeout=60)
    except TimeoutError:
        pass  # `watch` says so if the web process died; if it is only slow, no banner
    else:
        with supervisor.lock:
            print(banner(url), flush=True)
    return supervisor.watch()


if __name__ == "__main__":
    sys.exit(main())
