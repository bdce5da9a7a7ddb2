"""Accepted means committed: a web process killed right after answering loses nothing,
a retry with the same key duplicates nothing, and a dead database is a 503, not a 500."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from events.models import Event, IngestBatch
from events.services import source_create
from scripts.processes import ProcessGroup, free_port, start_web, wait_until_serving
from socapp.models import Team
from tests.conftest import app_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BODY = "".join(
    f"<38>Nov 28 04:{n // 60:02d}:{n % 60:02d} fw sshd[{n}]: Failed password for user{n} "
    f"from 198.51.100.{n % 250 + 1} port {1024 + n} ssh2\n"
    for n in range(2000)
).encode()


def start_web_process(
    process_group: ProcessGroup, tmp_path: Path, **env: str
) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    web = start_web(port, env=app_env(**env), output=tmp_path / f"web-{port}.log")
    process_group.add(web)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, timeout=30)
    return web, url


def send(url: str, token: str, body: bytes, key: str) -> tuple[int, dict, Any]:
    request = urllib.request.Request(
        url + "/api/v1/ingest/",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "text/plain",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def test_killing_the_web_process_after_the_answer_loses_nothing(
    process_group, tmp_path, reference_data
):
    _, token = source_create(
        name="fw", log_format="syslog", team=Team.objects.get(name="SOC"), actor=None
    )
    proc, url = start_web_process(process_group, tmp_path)
    status, answer, _ = send(url, token, BODY, "durable-1")
    os.kill(proc.pid, signal.SIGKILL)  # no graceful shutdown, no chance to finish anything
    proc.wait(timeout=10)
    assert status == 200 and answer["accepted"] == 2000
    assert Event.objects.filter(batch_id=answer["batch_id"]).count() == 2000

    # The client did not see the answer (say) and retries on a new process: nothing changes.
    _, url = start_web_process(process_group, tmp_path)
    status, again, _ = send(url, token, BODY, "durable-1")
    assert (status, again) == (200, answer)
    assert Event.objects.count() == 2000 and IngestBatch.objects.count() == 1


def test_a_dead_database_is_a_503_with_retry_after(process_group, tmp_path, reference_data):
    _, token = source_create(
        name="fw", log_format="syslog", team=Team.objects.get(name="SOC"), actor=None
    )
    _, url = start_web_process(
        process_group,
        tmp_path,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
        DB_CONNECT_TIMEOUT="2",
    )
    status, body, headers = send(url, token, BODY[:500], "dead-db")
    assert status == 503
    assert headers.get("Retry-After")
    assert "retry" in body["detail"].lower()
