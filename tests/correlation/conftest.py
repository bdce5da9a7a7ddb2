"""Fixtures shared by the correlation tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
import redis

from scripts.processes import ProcessGroup, free_port, port_accepts, start, wait_until
from socapp.roof.bootstrap import BootstrapReport, ensure_rule_pack


@pytest.fixture
def pack(reference_data) -> None:
    """The default rule pack, loaded as ``manage.py bootstrap`` loads it."""
    ensure_rule_pack(BootstrapReport())


@pytest.fixture
def own_redis(settings) -> Iterator[redis.Redis]:
    """A Redis server of this test's own, as socapp's REDIS_URL: tests that count the
    work correlation gives Redis (commands, bytes, round trips) read server-wide
    counters (Redis 7.0 keeps none per client), and the suite's other workers share the
    usual server. Started like `make test` starts a missing Redis: nothing on disk."""
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed (scripts/services.py installs it)")
    port = free_port()
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port)]
    command += ["--save", "", "--appendonly", "no", "--dir", tempfile.gettempdir()]
    with ProcessGroup() as group:
        group.add(start(command, env=dict(os.environ), output=subprocess.DEVNULL))
        settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(settings.REDIS_URL)
        wait_until(lambda: port_accepts(port) and client.ping(), timeout=10, what="own Redis")
        yield client
        client.close()
