"""The console's work over REST, for integrations: comment, mute, escalate, merge,
tasks and evidence, with the same permissions as the pages and 4xx for bad input."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from incidents.models import Alert, AlertMute, Incident
from tests.conftest import client_for

from .conftest import raise_alert

pytestmark = pytest.mark.django_db


def test_an_integration_escalates_comments_and_merges_alerts(integration, team_a, case_templates):
    api = client_for(integration)
    first = raise_alert(team_a, "beacon", "high", source__ip="10.0.0.9")
    second = raise_alert(team_a, "exfil", "critical", user__name="bob")

    made = api.post(f"/api/v1/alerts/{first.pk}/escalate/", {"incident_type": "malware"})
    assert made.status_code == 201, made.content
    incident = made.json()
    assert incident["priority"] == "high" and incident["incident_type"] == "malware"
    again = api.post(f"/api/v1/alerts/{first.pk}/escalate/", {})
    assert again.status_code == 400 and "already part of" in str(again.json())

    merged = api.post(
        f"/api/v1/incidents/{incident['id']}/alerts/", {"alerts": [str(second.pk)]}, format="json"
    )
    assert merged.status_code == 200 and str(second.pk) in merged.json()["alerts"]
    said = api.post(f"/api/v1/alerts/{first.pk}/comments/", {"body": "seen on the proxy"})
    assert said.status_code == 201 and said.json()[0]["author"] == "integration"
    assert api.post(f"/api/v1/alerts/{first.pk}/comments/", {"body": ""}).status_code == 400
    assert Alert.objects.get(pk=second.pk).incident.number == incident["number"]


def test_mutes_over_the_api(analyst_a, auditor, team_a):
    alert = raise_alert(team_a, "noisy", "low", source__ip="10.0.0.7")
    api = client_for(analyst_a)
    assert (
        api.post(f"/api/v1/alerts/{alert.pk}/mute/", {"minutes": 0, "reason": "x"}).status_code
        == 400
    )
    made = api.post(f"/api/v1/alerts/{alert.pk}/mute/", {"minutes": 60, "reason": "patching"})
    assert made.status_code == 201 and made.json()["entities"] == ["ip:10.0.0.7"]
    assert [
        m["reason"] for m in client_for(auditor).get("/api/v1/alert-mutes/").json()["results"]
    ] == ["patching"]
    mute_id = made.json()["id"]
    assert client_for(auditor).post(f"/api/v1/alert-mutes/{mute_id}/lift/").status_code == 403
    assert api.post(f"/api/v1/alert-mutes/{mute_id}/lift/").status_code == 200
    assert AlertMute.objects.get().lifted_by == analyst_a


def test_tasks_evidence_and_workflow_over_the_api(
    analyst_a, analyst_b, auditor, team_a, settings, tmp_path
):
    settings.EVIDENCE_ROOT = tmp_path
    api = client_for(analyst_a)
    incident = api.post("/api/v1/incidents/", {"title": "case", "team": "Team A"}).json()
    base = f"/api/v1/incidents/{incident['id']}/"

    tasks = api.post(base + "tasks/", {"title": "Collect logs"}).json()
    assert [t["title"] for t in tasks] == ["Collect logs"]
    done = api.patch(base + "tasks/", {"task": tasks[0]["id"], "status": "done"}, format="json")
    assert done.json()[0]["status"] == "done" and done.json()[0]["completed_by"] == "analyst_a"

    body = b"pcap bytes"
    stored = api.post(
        base + "evidence/", {"file": SimpleUploadedFile("a.pcap", body)}, format="multipart"
    )
    assert stored.status_code == 201, stored.content
    evidence = stored.json()[0]
    assert evidence["sha256"] == hashlib.sha256(body).hexdigest()
    download = client_for(auditor).get(base + f"evidence/{evidence['id']}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == body
    assert client_for(analyst_b).get(base + f"evidence/{evidence['id']}/").status_code == 404
    assert client_for(auditor).post(base + "comments/", {"body": "x"}).status_code == 403
    assert client_for(auditor).get(base + "comments/").status_code == 200

    refused = api.patch(base, {"status": "new"}, format="json")
    api.patch(base, {"status": "recovery"}, format="json")
    refused = api.patch(base, {"status": "triage"}, format="json")
    assert refused.status_code == 400 and "can move to" in str(refused.json())
    assert Incident.objects.get().status == "recovery"
    kinds = [e["kind"] for e in api.get(base + "timeline/").json()]
    assert kinds == ["created", "task_added", "task_updated", "evidence_added", "status_changed"]


def test_an_incident_never_takes_another_teams_alert(manager, team_a, team_b):
    api = client_for(manager)  # sees both teams, still may not mix them
    incident = api.post("/api/v1/incidents/", {"title": "case", "team": "Team A"}).json()
    theirs = raise_alert(team_b, "team B's")
    refused = api.post(
        f"/api/v1/incidents/{incident['id']}/alerts/", {"alerts": [str(theirs.pk)]}, format="json"
    )
    assert refused.status_code == 400 and "another team" in str(refused.json())
    assert Alert.objects.get(pk=theirs.pk).incident is None


def test_a_task_posted_with_a_status_is_created_open(analyst_a, team_a):
    """`status` reached task_add() as an unexpected argument: a 500. A new task is open;
    its status changes through PATCH."""
    api = client_for(analyst_a)
    incident = api.post("/api/v1/incidents/", {"title": "case", "team": "Team A"}).json()
    base = f"/api/v1/incidents/{incident['id']}/tasks/"
    created = api.post(base, {"title": "Collect logs", "status": "done"}, format="json")
    assert created.status_code == 201, created.content
    assert [(t["title"], t["status"]) for t in created.json()] == [("Collect logs", "open")]


def test_nullable_fields_answer_null_as_the_schema_says(analyst_a, team_a):
    """An unassigned, unacknowledged alert and a fresh task answered `null` where the
    schema promised a string; the schema now says `nullable`."""
    from tests.test_openapi_schema import generated_schema

    schemas = generated_schema()["components"]["schemas"]
    alert = raise_alert(team_a)
    body = client_for(analyst_a).get(f"/api/v1/alerts/{alert.pk}/").json()
    for field in ("assignee", "acknowledged_by", "incident"):
        assert body[field] is None
        assert schemas["Alert"]["properties"][field]["nullable"] is True
    assert body["close_reason"] == ""
    assert {"$ref": "#/components/schemas/BlankEnum"} in schemas["Alert"]["properties"][
        "close_reason"
    ]["oneOf"]
