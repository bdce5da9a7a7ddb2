"""Response actions through the API and the incident page, carried out against real
local receivers: a signed webhook to an HTTP server, mail to an SMTP server, and a
command whose exit status and output are recorded. Celery runs eagerly here; the
real-worker path is in test_response_worker.py."""

from __future__ import annotations

import hashlib
import hmac
import sys
from pathlib import Path

import pytest

from incidents.models import IncidentEvent, ResponseAction
from incidents.services import action_run
from socapp.models import AuditEntry
from tests.conftest import client_for
from tests.factories import ConnectorFactory, IncidentFactory
from tests.incidents.conftest import browser_for

pytestmark = pytest.mark.django_db

SECRET = "shared signing secret"


@pytest.fixture
def case(team_a):
    """A high-priority incident of team A: actions on it need a manager's approval."""
    return IncidentFactory(team=team_a, priority="high", title="Brute force on web1")


@pytest.fixture
def firewall(webhook_receiver):
    return ConnectorFactory(name="firewall", url=webhook_receiver.url, secret=SECRET)


def request_action(user, incident, capture, **body):
    with capture(execute=True):
        return client_for(user).post(
            f"/api/v1/incidents/{incident.pk}/actions/", body, format="json"
        )


def test_a_managers_block_ip_runs_at_once_as_a_signed_webhook(
    manager, case, firewall, webhook_receiver, django_capture_on_commit_callbacks
):
    response = request_action(
        manager,
        case,
        django_capture_on_commit_callbacks,
        action_type="block_ip",
        connector="firewall",
        parameters={"ip": "203.0.113.9", "note": "seen in 40 failed logins"},
    )
    assert response.status_code == 201, response.content
    [call] = webhook_receiver.calls
    stamp = call.headers["X-Socapp-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + call.body, hashlib.sha256)
    assert call.headers["X-Socapp-Signature"] == "sha256=" + expected.hexdigest()
    body = call.json()
    assert body["action"]["type"] == "block_ip"
    assert body["action"]["parameters"] == {
        "ip": "203.0.113.9/32",
        "note": "seen in 40 failed logins",
    }
    assert body["incident"]["number"] == case.number

    action = ResponseAction.objects.get()
    assert action.status == "succeeded"
    assert action.requested_by == manager and action.decided_by == manager
    assert action.results["http_status"] == 200
    assert action.performed_at and action.finished_at
    kinds = list(case.timeline.values_list("kind", flat=True))
    assert kinds == ["action_requested", "action_finished"]
    assert AuditEntry.objects.filter(action="incident.action_finished").exists()


def test_an_analysts_action_on_a_high_incident_waits_for_a_manager(
    analyst_a, manager, case, firewall, webhook_receiver, django_capture_on_commit_callbacks
):
    response = request_action(
        analyst_a,
        case,
        django_capture_on_commit_callbacks,
        action_type="block_ip",
        connector="firewall",
        parameters={"ip": "203.0.113.9"},
    )
    assert response.status_code == 201
    [listed] = response.json()
    assert listed["status"] == "awaiting_approval"
    assert webhook_receiver.calls == []

    refused = client_for(analyst_a).post(f"/api/v1/response-actions/{listed['id']}/approve/")
    assert refused.status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        approved = client_for(manager).post(
            f"/api/v1/response-actions/{listed['id']}/approve/", {"note": "go"}, format="json"
        )
    assert approved.status_code == 200, approved.content
    assert approved.json()["decided_by"] == manager.username
    assert len(webhook_receiver.calls) == 1
    action = ResponseAction.objects.get()
    assert action.status == "succeeded" and action.decision_note == "go"
    # Deciding twice is a clear refusal, not a second run.
    again = client_for(manager).post(f"/api/v1/response-actions/{listed['id']}/approve/")
    assert again.status_code == 400
    assert "not waiting for approval" in again.json()["status"][0]
    assert len(webhook_receiver.calls) == 1


def test_a_rejected_action_never_runs(
    analyst_a, manager, case, firewall, webhook_receiver, django_capture_on_commit_callbacks
):
    request_action(
        analyst_a, case, django_capture_on_commit_callbacks,
        action_type="block_ip", connector="firewall", parameters={"ip": "203.0.113.9"},
    )  # fmt: skip
    action = ResponseAction.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(manager).post(
            f"/api/v1/response-actions/{action.pk}/reject/", {"note": "shared NAT"}, format="json"
        )
    assert response.json()["status"] == "rejected"
    assert action_run(action.pk) is None
    assert webhook_receiver.calls == []
    decided = IncidentEvent.objects.get(kind="action_decided")
    assert decided.data["approved"] is False and decided.data["note"] == "shared NAT"


def test_below_the_approval_priority_an_analyst_needs_nobody(
    analyst_a, team_a, firewall, webhook_receiver, django_capture_on_commit_callbacks
):
    low = IncidentFactory(team=team_a, priority="low")
    response = request_action(
        analyst_a, low, django_capture_on_commit_callbacks,
        action_type="disable_account", connector="firewall", parameters={"user": "CORP\\alice"},
    )  # fmt: skip
    assert response.json()[0]["status"] == "approved"  # queued; the worker runs it
    assert ResponseAction.objects.get().status == "succeeded"
    assert webhook_receiver.calls[0].json()["action"]["parameters"]["user"] == "CORP\\alice"


def test_a_redelivered_task_does_not_run_an_action_twice(
    manager, case, firewall, webhook_receiver, django_capture_on_commit_callbacks
):
    request_action(
        manager, case, django_capture_on_commit_callbacks,
        action_type="webhook", connector="firewall", parameters={"note": "heads up"},
    )  # fmt: skip
    action = ResponseAction.objects.get()
    assert action_run(action.pk) is None  # the broker hands the task out again
    assert len(webhook_receiver.calls) == 1


def test_a_receiver_error_is_recorded_as_a_failure(
    manager, case, firewall, webhook_receiver, django_capture_on_commit_callbacks
):
    webhook_receiver.status = 503
    request_action(
        manager, case, django_capture_on_commit_callbacks,
        action_type="block_ip", connector="firewall", parameters={"ip": "198.51.100.7"},
    )  # fmt: skip
    action = ResponseAction.objects.get()
    assert action.status == "failed"
    assert action.results["http_status"] == 503
    assert "503" in IncidentEvent.objects.get(kind="action_finished").data["summary"]


def test_an_unreachable_receiver_is_a_failure_not_a_crash(
    manager, case, settings, django_capture_on_commit_callbacks
):
    from scripts.processes import free_port

    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # so the connection is tried
    ConnectorFactory(name="gone", url=f"http://127.0.0.1:{free_port()}/hook")
    request_action(
        manager, case, django_capture_on_commit_callbacks,
        action_type="block_ip", connector="gone", parameters={"ip": "198.51.100.7"},
    )  # fmt: skip
    action = ResponseAction.objects.get()
    assert action.status == "failed"
    assert "refused" in action.results["summary"].lower()


@pytest.fixture
def fake_edr(tmp_path: Path) -> Path:
    """A command-line tool as an EDR ships one: prints what it did, fails on demand."""
    script = tmp_path / "edr.py"
    script.write_text(
        "import sys\n"
        "host = sys.argv[1].removeprefix('--isolate=')\n"
        "if host == 'db1':\n"
        "    print('db1 is not managed by this EDR', file=sys.stderr)\n"
        "    sys.exit(3)\n"
        "print(f'isolated {host} (incident {sys.argv[2]})')\n"
    )
    return script


def test_isolate_host_runs_the_configured_command_and_records_its_output(
    manager, case, fake_edr, django_capture_on_commit_callbacks
):
    ConnectorFactory(
        name="edr",
        kind="command",
        url="",
        command=[sys.executable, str(fake_edr), "--isolate={host}", "{incident}"],
        action_types=["isolate_host"],
    )
    for host in ("web1", "db1"):
        request_action(
            manager, case, django_capture_on_commit_callbacks,
            action_type="isolate_host", connector="edr", parameters={"host": host},
        )  # fmt: skip
    done, failed = ResponseAction.objects.order_by("created_at")
    assert done.status == "succeeded"
    assert done.results["exit_status"] == 0
    assert done.results["stdout"].strip() == f"isolated web1 (incident {case.number})"
    assert failed.status == "failed"
    assert failed.results["exit_status"] == 3
    assert "not managed" in failed.results["stderr"]


@pytest.mark.parametrize(
    ("action_type", "parameters", "field"),
    [
        ("isolate_host", {"host": "web1; rm -rf /"}, "host"),
        ("isolate_host", {"host": "--help"}, "host"),
        ("disable_account", {"user": "-x"}, "user"),
        ("block_ip", {"ip": "not-an-ip"}, "ip"),
        ("block_ip", {}, "ip"),
    ],
)
def test_targets_that_could_turn_into_options_or_commands_are_refused(
    manager, case, action_type, parameters, field, django_capture_on_commit_callbacks
):
    ConnectorFactory(name="edr", kind="command", command=["/bin/true", "{host}"])
    response = request_action(
        manager, case, django_capture_on_commit_callbacks,
        action_type=action_type, connector="edr", parameters=parameters,
    )  # fmt: skip
    assert response.status_code == 400
    assert field in response.json()
    assert not ResponseAction.objects.exists()


def test_a_connector_is_only_used_for_the_actions_it_serves(
    manager, case, django_capture_on_commit_callbacks
):
    ConnectorFactory(name="mail only", kind="email", recipients=["soc@example.org"],
                     action_types=["email"])  # fmt: skip
    response = request_action(
        manager, case, django_capture_on_commit_callbacks,
        action_type="block_ip", connector="mail only", parameters={"ip": "192.0.2.1"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "does not carry out block_ip" in response.json()["connector"][0]


def test_an_email_action_reaches_the_smtp_server(
    manager, case, smtp_receiver, django_capture_on_commit_callbacks
):
    ConnectorFactory(name="it desk", kind="email", recipients=["it-desk@example.org"],
                     action_types=["email"])  # fmt: skip
    request_action(
        manager, case, django_capture_on_commit_callbacks,
        action_type="email", connector="it desk",
        parameters={"note": "Please reimage web1 <today>"},
    )  # fmt: skip
    [message] = smtp_receiver.messages
    assert smtp_receiver.envelopes[0][1] == ["it-desk@example.org"]
    assert case.number in message["Subject"]
    assert "Please reimage web1 <today>" in message.get_payload(decode=True).decode()
    assert message["X-Socapp-Delivery"].startswith("action-")
    assert ResponseAction.objects.get().status == "succeeded"


def test_a_manual_step_is_recorded_as_done(analyst_a, case, django_capture_on_commit_callbacks):
    response = request_action(
        analyst_a, case, django_capture_on_commit_callbacks,
        action_type="manual", description="Called the user; password reset by phone",
    )  # fmt: skip
    assert response.json()[0]["status"] == "succeeded"
    entry = IncidentEvent.objects.get(kind="action_finished")
    assert entry.data["summary"] == "Called the user; password reset by phone"


def test_other_teams_and_auditors_cannot_start_actions(
    analyst_b, auditor, case, firewall, django_capture_on_commit_callbacks
):
    body = {"action_type": "block_ip", "connector": "firewall", "parameters": {"ip": "192.0.2.1"}}
    assert (
        request_action(analyst_b, case, django_capture_on_commit_callbacks, **body).status_code
        == 404
    )
    assert (
        request_action(auditor, case, django_capture_on_commit_callbacks, **body).status_code == 403
    )
    assert client_for(auditor).get(f"/api/v1/incidents/{case.pk}/actions/").status_code == 200
    assert not ResponseAction.objects.exists()


def test_the_incident_page_requests_approves_and_shows_actions(
    analyst_a, manager, case, firewall, webhook_receiver, django_capture_on_commit_callbacks
):
    page = f"/incidents/{case.number}/"
    analyst = browser_for(analyst_a)
    with django_capture_on_commit_callbacks(execute=True):
        analyst.post(
            f"{page}action/",
            {"action_type": "block_ip", "connector": "firewall", "target": "203.0.113.50",
             "description": "<b>attacker</b>"},
        )  # fmt: skip
    html = analyst.get(page).content.decode()
    assert "Awaiting approval" in html
    assert "&lt;b&gt;attacker&lt;/b&gt;" in html
    assert 'value="approve"' not in html  # analysts cannot approve

    action = ResponseAction.objects.get()
    boss = browser_for(manager)
    assert 'value="approve"' in boss.get(page).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        boss.post(f"{page}action-decide/", {"action": action.pk, "decision": "approve"})
    html = boss.get(page).content.decode()
    assert "Succeeded" in html and "answered 200" in html
    assert webhook_receiver.calls[0].json()["action"]["parameters"]["ip"] == "203.0.113.50/32"


def test_the_actions_part_the_page_refreshes_live_follows_the_incidents_permissions(
    manager,
    analyst_b,
    auditor,
    case,
    firewall,
    webhook_receiver,
    django_capture_on_commit_callbacks,
):
    request_action(
        manager, case, django_capture_on_commit_callbacks,
        action_type="block_ip", connector="firewall", parameters={"ip": "192.0.2.8"},
    )  # fmt: skip
    part = f"/incidents/{case.number}/actions/"
    shown = browser_for(auditor).get(part)
    assert shown.status_code == 200 and "192.0.2.8/32" in shown.content.decode()
    assert browser_for(analyst_b).get(part).status_code == 404


def test_a_webhook_to_socapps_own_neighbours_is_refused_and_recorded(
    manager, case, webhook_receiver, settings, django_capture_on_commit_callbacks
):
    """The receiver listens on 127.0.0.1; with no range allowed, nothing reaches it and
    the action says why (the outbound guard, docs/RESPONSE.md)."""
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    ConnectorFactory(name="internal", url=webhook_receiver.url.replace("127.0.0.1", "localhost"))
    request_action(
        manager, case, django_capture_on_commit_callbacks,
        action_type="block_ip", connector="internal", parameters={"ip": "198.51.100.7"},
    )  # fmt: skip
    action = ResponseAction.objects.get()
    assert action.status == "failed"
    assert webhook_receiver.calls == []
    assert "localhost resolves to 127.0.0.1, a loopback address" in action.results["refused"]
    assert "OUTBOUND_ALLOWED_NETWORKS" in action.results["summary"]
    assert "response" not in action.results  # nothing was read, so nothing is shown
    finished = IncidentEvent.objects.get(kind="action_finished").data["summary"]
    assert finished.startswith(f"Not sent to {action.connector.url}: localhost resolves to")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://127.0.0.1:5432/", "loopback"),
        ("http://[::1]:6379/", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://user:pw@hooks.example.org/", "credentials"),
    ],
)
def test_the_admin_refuses_to_save_a_webhook_socapp_would_not_call(soc_admin, url, reason):
    from django.test import Client

    from incidents.models import Connector

    admin = Client()
    admin.force_login(soc_admin)
    response = admin.post(
        "/admin/incidents/connector/add/",
        {"name": "metadata", "kind": "webhook", "enabled": "on", "url": url,
         "payload_format": "socapp", "secret": "", "recipients": "", "command": "[]",
         "timeout_seconds": "5"},
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors["url"]
    assert any("socapp will not call this URL" in e and reason in e for e in errors), errors
    assert not Connector.objects.exists()


def test_the_admin_saves_a_webhook_in_an_allowed_range(soc_admin, settings):
    from django.test import Client

    from incidents.models import Connector

    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    admin = Client()
    admin.force_login(soc_admin)
    response = admin.post(
        "/admin/incidents/connector/add/",
        {"name": "ticketing", "kind": "webhook", "enabled": "on",
         "url": "http://10.20.3.4/hook", "payload_format": "socapp", "secret": "",
         "recipients": "", "command": "[]", "timeout_seconds": "5"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Connector.objects.get().url == "http://10.20.3.4/hook"
