"""Starting and stopping socapp's processes: the one home for the code with which tests,
benches and `make run` (scripts/supervise.py) prepare a database, find a free port, start
the web process (ASGI), a Celery worker, Celery beat and the syslog listener, wait until
something answers, and stop what they started.

Importable as ``scripts.processes`` with the repository root on ``sys.path`` (pytest puts
it there; bench scripts and scripts/supervise.py insert it). Only the standard library is
imported here (psycopg when a database is made), so nothing of Django is loaded with it.
Every process gets its environment passed explicitly: what it runs against is in the call.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TypeVar

ROOT = Path(__file__).resolve().parent.parent
# The programs (uvicorn, celery) installed next to the Python that runs this.
BIN = Path(sys.executable).parent
ASGI_APPLICATION = "socapp.roof.asgi:application"
CELERY_APP = "socapp"

T = TypeVar("T")
Output = Path | int | None


# ---- ports and waiting ----------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """Whether a TCP connection to ``host:port`` is accepted."""
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """Whether a GET of ``url`` answers with a success (an error status or none is False)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - ours
            status: int = response.status
    except OSError:  # refused, reset, timed out, or an HTTPError (4xx/5xx)
        return False
    return 200 <= status < 300


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something true, and
    return that; raise TimeoutError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def wait_until_serving(base_url: str, timeout: float = 60.0, path: str = "/health") -> None:
    """Wait until the web process at ``base_url`` answers ``path`` (its liveness probe)."""
    url = base_url.rstrip("/") + path
    wait_until(lambda: http_ok(url), timeout=timeout, interval=0.3, what=url)


# ---- starting and stopping ------------------------------------------------------------


def start(
    command: list[str],
    *,
    env: Mapping[str, str],
    output: Output = None,
    cwd: Path = ROOT,
    new_session: bool = False,
) -> subprocess.Popen[str]:
    """Start ``command`` in ``cwd`` with exactly the environment ``env``.

    ``output``: a Path gets stdout and stderr (the file is truncated); subprocess.PIPE
    makes them one text stream, line by line, on ``proc.stdout``; subprocess.DEVNULL
    drops them; None leaves them on this process's own. ``new_session``: the process
    leads a process group of its own (a Ctrl-C in the terminal does not reach it, and
    ``stop`` signals the whole group).
    """
    stdout: IO[str] | int | None
    if isinstance(output, Path):
        log = stdout = output.open("w")
    else:
        log, stdout = None, output
    try:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdout=stdout,
            stderr=subprocess.STDOUT if output is not None else None,
            text=True,
            bufsize=1 if output == subprocess.PIPE else -1,
            start_new_session=new_session,
        )
    finally:
        if log is not None:
            log.close()  # the child has its own copy


def _signal(proc: subprocess.Popen[str], signum: int) -> None:
    """Send ``signum`` to the process, or to its group when it leads one of its own."""
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
    except ProcessLookupError:
        pass  # gone (and reaped) already


def stop(*procs: subprocess.Popen[str], timeout: float = 15.0) -> None:
    """Stop the processes: SIGTERM to each still running (to its group when it leads
    one), then wait up to ``timeout`` seconds in all, then SIGKILL what is left."""
    for proc in procs:
        if proc.poll() is None:
            _signal(proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL)
            proc.wait()


class ProcessGroup:
    """Processes started together and stopped together (``with``, or ``stop()``)."""

    def __init__(self, timeout: float = 15.0) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.timeout = timeout

    def add(self, proc: subprocess.Popen[str]) -> subprocess.Popen[str]:
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        stop(*self.procs, timeout=self.timeout)

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


# ---- socapp's processes ---------------------------------------------------------------


def web_command(
    port: int,
    *,
    host: str = "127.0.0.1",
    log_level: str | None = None,
    proxy_headers: bool = True,
) -> list[str]:
    """uvicorn serving socapp (pages, API, websockets) on ``host:port``, no lifespan, no
    access log.

    ``proxy_headers``: True lets uvicorn take the client address and scheme from the
    X-Forwarded-* headers of a proxy on 127.0.0.1 (uvicorn's own default); False leaves
    X-Forwarded-For to socapp, which trusts TRUSTED_PROXIES only (as in production).
    """
    command = [str(BIN / "uvicorn"), ASGI_APPLICATION, "--host", host, "--port", str(port)]
    command += ["--lifespan", "off", "--no-access-log"]
    if proxy_headers:
        command += ["--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"]
    else:
        command += ["--no-proxy-headers"]
    if log_level:
        command += ["--log-level", log_level]
    return command


def start_web(
    port: int,
    *,
    env: Mapping[str, str],
    output: Output = None,
    host: str = "127.0.0.1",
    log_level: str | None = None,
    proxy_headers: bool = True,
) -> subprocess.Popen[str]:
    """The web process (``web_command``); ``wait_until_serving`` tells when it answers."""
    command = web_command(port, host=host, log_level=log_level, proxy_headers=proxy_headers)
    return start(command, env=env, output=output)


def worker_command(
    queues: str,
    *,
    name: str = "worker",
    pool: str = "prefork",
    concurrency: int = 1,
    log_level: str = "INFO",
    alone: bool = True,
) -> list[str]:
    """A Celery worker consuming ``queues`` (comma-separated), called ``name@<host>``.

    ``alone``: the worker does not look for others (no gossip, mingle or heartbeats),
    which makes it start sooner; `make run` starts one that does, like a deployment.
    """
    command = [str(BIN / "celery"), "-A", CELERY_APP, "worker", "--loglevel", log_level]
    command += ["--queues", queues, "--pool", pool, "--concurrency", str(concurrency)]
    command += ["--hostname", f"{name}@%h"]
    if alone:
        command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    return command


def start_worker(
    queues: str,
    *,
    env: Mapping[str, str],
    output: Output = None,
    name: str = "worker",
    pool: str = "prefork",
    concurrency: int = 1,
    log_level: str = "INFO",
    alone: bool = True,
) -> subprocess.Popen[str]:
    """A Celery worker process (``worker_command``)."""
    command = worker_command(
        queues, name=name, pool=pool, concurrency=concurrency, log_level=log_level, alone=alone
    )
    return start(command, env=env, output=output)


def beat_command(*, schedule: Path | None = None, log_level: str = "INFO") -> list[str]:
    """Celery beat (the database scheduler); ``schedule``: where it keeps its state file
    (default: celerybeat-schedule in the working directory)."""
    command = [str(BIN / "celery"), "-A", CELERY_APP, "beat", "--loglevel", log_level]
    if schedule is not None:
        command += ["--schedule", str(schedule)]
    return command


def start_beat(
    *, env: Mapping[str, str], output: Output = None, schedule: Path | None = None
) -> subprocess.Popen[str]:
    """A Celery beat process (``beat_command``)."""
    return start(beat_command(schedule=schedule), env=env, output=output)


def syslogd_command(*options: str) -> list[str]:
    """The syslog listener, ``manage.py syslogd`` with ``options`` (ports, TLS, ...)."""
    return [sys.executable, "manage.py", "syslogd", *options]


def start_syslogd(
    *options: str, env: Mapping[str, str], output: Output = None
) -> subprocess.Popen[str]:
    """A syslog listener process (``syslogd_command``); ``port_accepts`` tells when its
    TCP ports are open."""
    return start(syslogd_command(*options), env=env, output=output)


# ---- databases ------------------------------------------------------------------------


def manage(*args: str, env: Mapping[str, str], cwd: Path = ROOT) -> None:
    """Run ``manage.py *args`` to its end (what it prints is dropped; errors are not)."""
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=dict(env),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def database_url(url: str, name: str) -> str:
    """``url`` (postgres://…/anything) pointed at the database ``name`` on the same server."""
    return url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    """Drop the database of ``url`` if it exists, closing whatever is connected to it."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_database(
    url: str, *, env: Mapping[str, str], bootstrap: bool = True, cwd: Path = ROOT
) -> None:
    """A new, empty database at ``url`` (any old one dropped), migrated, and with
    ``bootstrap`` the reference data of ``manage.py bootstrap``; the commands run in
    ``cwd`` with ``env`` (its DATABASE_URL replaced by ``url``)."""
    import psycopg

    drop_database(url)
    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    env = {**env, "DATABASE_URL": url}
    manage("migrate", "--noinput", "-v0", env=env, cwd=cwd)
    if bootstrap:
        manage("bootstrap", env=env, cwd=cwd)
