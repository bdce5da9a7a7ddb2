"""Make PostgreSQL, Redis and (when configured) RabbitMQ available for `make run`/`make test`.

For each service named by the environment (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL,
with socapp's local defaults): use it if it answers; if it is local and down, start it
(an existing Debian cluster with pg_ctlcluster, else a private one under var/); if it is
not installed, install it with apt-get when running as root; otherwise stop and print
the exact command to run. Then create the database if it is missing.

Runs with the project's virtualenv (it uses psycopg and redis).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # for the annotation only: _pg_connect imports it when it runs
    import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.processes import port_accepts, wait_until  # noqa: E402 - after sys.path

VAR = ROOT / "var"
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/socapp"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class ServiceError(SystemExit):
    def __init__(self, message: str) -> None:
        super().__init__(f"\n!! {message}\n")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    return subprocess.run(cmd, check=True, **kwargs)


def wait_for(check: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    try:
        wait_until(check, timeout=seconds, interval=0.5, what=what)
    except TimeoutError:
        raise ServiceError(f"{what} did not come up within {seconds:.0f}s") from None


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(packages: list[str], why: str) -> bool:
    if not (is_root() and shutil.which("apt-get")):
        return False
    say(f"installing {' '.join(packages)} with apt-get ({why})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
    run(["apt-get", "install", "-y", "-q", *packages], env=env)
    return True


# ---- PostgreSQL ------------------------------------------------------------------------


def _pg_connect(url: str, dbname: str) -> psycopg.Connection[Any]:
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname=dbname,
        connect_timeout=3,
        autocommit=True,
    )


def _pg_answers(url: str) -> bool:
    try:
        _pg_connect(url, "postgres").close()
        return True
    except Exception:
        return False


def _debian_cluster_for_port(port: int) -> tuple[str, str, str] | None:
    """(version, name, status) of the pg_lsclusters cluster configured on ``port``."""
    if not shutil.which("pg_lsclusters"):
        return None
    out = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False
    ).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == str(port):
            return fields[0], fields[1], fields[3]
    return None


def _pg_bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; use the postgres system account.
    return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd


def _start_private_cluster(bindir: Path, port: int) -> None:
    datadir = VAR / "postgres"
    if not (datadir / "PG_VERSION").exists():
        say(f"creating a private PostgreSQL cluster in {datadir} (trust auth, port {port})")
        datadir.mkdir(parents=True, exist_ok=True)
        if is_root():
            shutil.chown(datadir, "postgres", "postgres")
            VAR.chmod(0o755)
        run(
            _as_postgres_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                ]
            ),
            stdout=subprocess.DEVNULL,
        )
    say(f"starting the private PostgreSQL cluster on port {port}")
    run(
        _as_postgres_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(datadir),
                "-l",
                str(datadir / "server.log"),
                "-o",
                f"-p {port} -k /tmp",
                "-w",
                "start",
            ]
        ),
        stdout=subprocess.DEVNULL,
    )


def ensure_postgres(url: str) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 5432
    if _pg_answers(url):
        return
    if host not in LOCAL_HOSTS:
        raise ServiceError(f"PostgreSQL at {host}:{port} does not answer; check DATABASE_URL.")
    cluster = _debian_cluster_for_port(port)
    if cluster and cluster[2] != "online":
        version, name, _ = cluster
        say(f"starting PostgreSQL cluster {version}/{name}")
        run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"])
    elif not port_accepts(port, host):
        bindir = _pg_bindir()
        if bindir is None:
            # Keep Debian from making its own cluster (peer/scram auth); we make ours.
            if is_root():
                Path("/etc/postgresql-common").mkdir(parents=True, exist_ok=True)
                conf = Path("/etc/postgresql-common/createcluster.conf")
                if "create_main_cluster = false" not in (conf.read_text() if conf.exists() else ""):
                    with conf.open("a") as fh:
                        fh.write("\ncreate_main_cluster = false\n")
            if not apt_install(["postgresql"], "no PostgreSQL on this machine"):
                raise ServiceError(
                    "PostgreSQL 15+ is not installed. Install it, e.g.\n"
                    "   sudo apt-get install -y postgresql\n"
                    f"or point DATABASE_URL at a running server (now {url})."
                )
            bindir = _pg_bindir()
        assert bindir is not None
        _start_private_cluster(bindir, port)
    wait_for(lambda: _pg_answers(url), f"PostgreSQL on port {port}")


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    dbname = urlsplit(url).path.lstrip("/") or "socapp"
    with _pg_connect(url, "postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            say(f"creating database {dbname}")
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # made meanwhile
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


# ---- Redis and RabbitMQ --------------------------------------------------------------


def _redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def ensure_redis(url: str) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 6379
    if _redis_answers(url):
        return
    if host not in LOCAL_HOSTS:
        raise ServiceError(f"Redis at {host}:{port} does not answer; check REDIS_URL.")
    if not shutil.which("redis-server") and not apt_install(["redis-server"], "no Redis here"):
        raise ServiceError(
            "Redis 7 is not installed. Install it, e.g.\n"
            "   sudo apt-get install -y redis-server\n"
            f"or point REDIS_URL at a running server (now {url})."
        )
    workdir = VAR / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"starting Redis on port {port}")
    # Nothing kept on disk: PostgreSQL is the source of truth, Redis only nudges.
    run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--logfile",
            str(workdir / "redis.log"),
        ]
    )
    wait_for(lambda: _redis_answers(url), f"Redis on port {port}")


def ensure_rabbitmq(url: str) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 5672
    if port_accepts(port, host):
        return
    if host not in LOCAL_HOSTS:
        raise ServiceError(f"RabbitMQ at {host}:{port} does not answer; check CELERY_BROKER_URL.")
    if not shutil.which("rabbitmq-server") and not apt_install(["rabbitmq-server"], "broker"):
        raise ServiceError(
            "RabbitMQ is not installed. Install it (sudo apt-get install -y "
            "rabbitmq-server) or leave CELERY_BROKER_URL unset to use Redis."
        )
    say("starting RabbitMQ")
    run(["rabbitmq-server", "-detached"])
    wait_for(lambda: port_accepts(port, host), f"RabbitMQ on port {port}", seconds=90)


def main() -> None:
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    broker_url = os.environ.get("CELERY_BROKER_URL") or redis_url
    ensure_postgres(database_url)
    if "--no-create-db" not in sys.argv:
        ensure_database(database_url)
    ensure_redis(redis_url)
    if broker_url.startswith("redis"):
        ensure_redis(broker_url)
    elif broker_url.startswith(("amqp", "pyamqp")):
        ensure_rabbitmq(broker_url)
    say("PostgreSQL, Redis and the Celery broker are up")


if __name__ == "__main__":
    main()
