"""Response actions and notifications carried out by a real Celery worker (the live
console's uvicorn + worker processes), driven over HTTP with an API token: an analyst's
action waits for approval, the manager approves it, and the worker's signed webhook and
command reach their receivers once; a new incident is announced to a chat webhook."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

import pytest

from incidents.models import NotificationRule, ResponseAction
from scripts.processes import wait_until
from socapp.services import api_token_create
from tests.factories import ConnectorFactory, IncidentFactory
from tests.live_console import live_console  # noqa: F401
from tests.receivers import RECEIVER_ENV

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
# The worker delivers to the local receiver, on 127.0.0.1: allowed for this module only.
LIVE_CONSOLE_ENV = RECEIVER_ENV


def call(console, token: str, path: str, body: dict | None = None) -> tuple[int, dict | list]:
    request = urllib.request.Request(
        f"{console.url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def token_for(user) -> str:
    return api_token_create(user=user, actor=user, expires_days=1)[1]


def test_the_worker_runs_an_approved_action_once(
    live_console,  # noqa: F811
    analyst_a,
    manager,
    team_a,
    webhook_receiver,
    tmp_path,
):
    ConnectorFactory(name="firewall", url=webhook_receiver.url, secret="k")
    marker = tmp_path / "ran.txt"
    ConnectorFactory(
        name="edr",
        kind="command",
        command=[sys.executable, "-c",
                 "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n'); print('ok')",
                 str(marker), "{host}"],
        action_types=["isolate_host"],
    )  # fmt: skip
    incident = IncidentFactory(team=team_a, priority="critical")
    analyst, boss = token_for(analyst_a), token_for(manager)
    path = f"/api/v1/incidents/{incident.pk}/actions/"

    status, listed = call(live_console, analyst, path, {
        "action_type": "block_ip", "connector": "firewall", "parameters": {"ip": "203.0.113.9"},
    })  # fmt: skip
    assert status == 201 and listed[0]["status"] == "awaiting_approval"
    status, _ = call(live_console, boss, f"/api/v1/response-actions/{listed[0]['id']}/approve/", {})
    assert status == 200
    status, _ = call(live_console, boss, path, {
        "action_type": "isolate_host", "connector": "edr", "parameters": {"host": "web1"},
    })  # fmt: skip
    assert status == 201

    def finished() -> bool:
        return not ResponseAction.objects.exclude(status__in=["succeeded", "failed"]).exists()

    wait_until(finished, timeout=30, what="the worker to finish both actions")
    block, isolate = ResponseAction.objects.order_by("created_at")
    assert (block.status, block.results["http_status"]) == ("succeeded", 200)
    assert (isolate.status, isolate.results["stdout"].strip()) == ("succeeded", "ok")
    assert len(webhook_receiver.calls) == 1
    assert marker.read_text() == "web1\n"
    _, timeline = call(live_console, boss, f"/api/v1/incidents/{incident.pk}/timeline/")
    kinds = [entry["kind"] for entry in timeline]
    assert kinds.count("action_finished") == 2 and kinds.count("action_decided") == 1


def test_the_worker_announces_a_new_incident(
    live_console,  # noqa: F811
    manager,
    team_a,
    webhook_receiver,
):
    chat = ConnectorFactory(name="chat", url=webhook_receiver.url, payload_format="slack")
    NotificationRule.objects.create(
        name="new incidents", connector=chat, topics=["incident_opened"], min_severity="low"
    )
    status, incident = call(live_console, token_for(manager), "/api/v1/incidents/", {
        "title": "Data leaving from db1", "team": team_a.name, "priority": "high",
    })  # fmt: skip
    assert status == 201, incident
    wait_until(lambda: webhook_receiver.calls, timeout=30, what="the chat notification")
    text = webhook_receiver.calls[0].json()["text"]
    assert text == f"[P2 - High] {incident['number']} Data leaving from db1: new incident"
