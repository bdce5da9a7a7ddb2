"""/ready during real outages: a PostgreSQL and a Redis of this test's own are stopped and
started again under a running web process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from scripts.processes import free_port, http_ok, start, start_web, stop, wait_until
from tests.conftest import app_env

pytestmark = pytest.mark.slow

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


def pg_tool(name: str) -> str:
    assert PG_BIN is not None  # the tests that start a server are skipped without one
    return str(PG_BIN / name)


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class ThrowawayPostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="socapp-ready-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            as_postgres(
                [pg_tool("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            as_postgres(
                [
                    pg_tool("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.dir / "log"),
                    "-o",
                    f"-p {self.port} -k {self.dir}",
                    "-w",
                    *args,
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def remove(self) -> None:
        subprocess.run(
            as_postgres([pg_tool("pg_ctl"), "-D", str(self.data), "stop", "-m", "immediate"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = start(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            env=os.environ,
            output=subprocess.DEVNULL,
        )
        wait_until(lambda: self._answers(), what="redis")

    def _answers(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc:
            stop(self.proc, timeout=10)


def ready(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "/ready", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.skipif(
    PG_BIN is None or shutil.which("redis-server") is None,
    reason="needs PostgreSQL and Redis server binaries",
)
def test_ready_follows_postgres_and_redis_going_down_and_back(process_group, tmp_path):
    pg, rd = ThrowawayPostgres(), ThrowawayRedis()
    try:
        pg.start()
        rd.start()
        port = free_port()
        env = app_env(
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{pg.port}/postgres",
            REDIS_URL=f"redis://127.0.0.1:{rd.port}/0",
            # The broker stays on the shared Redis: this test takes down only what it names.
            CELERY_BROKER_URL=settings.TEST_WORKER_BROKER_URL,
            DB_CONNECT_TIMEOUT="2",
            READY_CHECK_TIMEOUT="2",
        )
        process_group.add(start_web(port, env=env, output=tmp_path / "web.log"))
        url = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: ready(url)[0] == 200 if http_ok(url + "/health") else False,
            timeout=30,
            what="web process ready",
        )

        pg.stop()
        status, body = ready(url)
        assert status == 503
        assert body["down"] == ["database"]
        assert body["checks"]["redis"] == "ok"
        pg.start()
        wait_until(lambda: ready(url)[0] == 200, timeout=20, what="ready again after PostgreSQL")

        rd.stop()
        status, body = ready(url)
        assert status == 503
        assert body["down"] == ["redis"]
        rd.start()
        wait_until(lambda: ready(url)[0] == 200, timeout=20, what="ready again after Redis")
    finally:
        rd.stop()
        pg.remove()
