"""Incidents in the console: escalation, workflow, assignment, tasks, comments,
evidence, links, grouping and who may see and change what."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from guardian.shortcuts import assign_perm

from incidents.models import Alert, Incident, IncidentEvent
from incidents.services import incident_create
from tests.factories import AssetFactory

from .conftest import browser_for, raise_alert

pytestmark = pytest.mark.django_db


def _escalate(client, alert, **form) -> Incident:
    response = client.post(f"/alerts/{alert.pk}/escalate/", {"incident_type": "other", **form})
    assert response.status_code == 302, response.content
    return Incident.objects.get(alerts=alert)


def _kinds(incident: Incident) -> list[str]:
    return list(IncidentEvent.objects.filter(incident=incident).values_list("kind", flat=True))


def test_escalating_an_alert_opens_a_numbered_incident_with_template_tasks(
    analyst_a, team_a, case_templates
):
    alert = raise_alert(team_a, "Mimikatz on WS-7", "critical", host__name="ws-7")
    incident = _escalate(browser_for(analyst_a), alert, incident_type="malware")
    assert incident.number.startswith("INC-") and len(incident.number.split("-")[2]) == 4
    assert (incident.team, incident.priority, incident.created_by) == (
        team_a,
        "critical",
        analyst_a,
    )
    titles = list(incident.tasks.values_list("title", flat=True))
    assert titles[1] == "Isolate the affected hosts" and len(titles) == 8
    alert.refresh_from_db()
    assert alert.status == "in_progress" and alert.acknowledged_by == analyst_a
    assert _kinds(incident) == ["created", "task_added", "alert_linked", "observable_added"]
    page = browser_for(analyst_a).get(f"/incidents/{incident.number}/").content.decode()
    assert "Isolate the affected hosts" in page and "Mimikatz on WS-7" in page


def test_the_workflow_moves_forward_one_step_back_and_reopens(analyst_a, team_a):
    incident = incident_create(actor=analyst_a, title="t", team=team_a)
    client = browser_for(analyst_a)
    url = f"/incidents/{incident.number}/status/"

    def move(status: str) -> str:
        if status == "closed":  # closing has its own form, which asks for a resolution
            client.post(f"/incidents/{incident.number}/close/", {"resolution": "resolved"})
        else:
            client.post(url, {"status": status})
        incident.refresh_from_db()
        return incident.status

    assert move("containment") == "containment"  # skipping triage is allowed
    assert move("new") == "containment"  # two steps back is not
    assert move("triage") == "triage"  # one step back is
    assert move("closed") == "closed" and incident.resolved_at is not None
    assert move("recovery") == "closed"
    assert move("triage") == "triage" and incident.resolved_at is None
    changes = IncidentEvent.objects.filter(incident=incident, kind="status_changed")
    assert [(e.data["old"], e.data["new"]) for e in changes] == [
        ("new", "containment"),
        ("containment", "triage"),
        ("triage", "closed"),
        ("closed", "triage"),
    ]


def test_only_incident_managers_assign_and_the_assignee_sees_it_in_the_timeline(
    analyst_a, manager, team_a
):
    incident = incident_create(actor=analyst_a, title="t", team=team_a)
    url = f"/incidents/{incident.number}/assign/"
    assert browser_for(analyst_a).post(url, {"assignee": "analyst_a"}).status_code == 403
    browser_for(manager).post(url, {"assignee": "analyst_a"})
    incident.refresh_from_db()
    assert incident.assigned_to == analyst_a
    entry = IncidentEvent.objects.get(incident=incident, kind="assigned")
    assert (entry.actor, entry.data["assignee"]) == (manager, "analyst_a")
    mine = browser_for(analyst_a).get("/incidents/?assigned_to=me").content.decode()
    assert incident.number in mine


def test_tasks_comments_and_links_land_on_the_timeline(analyst_a, team_a):
    incident = incident_create(actor=analyst_a, title="t", team=team_a)
    AssetFactory(name="db-01", ip_addresses=["10.20.0.5"])
    client = browser_for(analyst_a)
    base = f"/incidents/{incident.number}/"
    client.post(base + "task/", {"title": "Pull the firewall logs"})
    task = incident.tasks.get()
    client.post(base + "task-status/", {"task": task.pk, "status": "done"})
    client.post(base + "comment/", {"body": "attacker used <svg onload=x>"})
    client.post(base + "link/", {"kind": "asset", "value": "10.20.0.5"})
    missing = client.post(base + "link/", {"kind": "ioc", "value": "nope"}, follow=True)
    assert "No IOC with the value" in missing.content.decode()

    task.refresh_from_db()
    assert task.status == "done" and task.completed_by == analyst_a
    assert list(incident.assets.values_list("name", flat=True)) == ["db-01"]
    assert _kinds(incident)[-4:] == ["task_added", "task_updated", "commented", "asset_linked"]
    page = client.get(base).content.decode()
    assert "&lt;svg onload=x&gt;" in page and "<svg onload" not in page
    assert "<h3>Linked assets</h3>" in page and "10.20.0.5" in page


def test_evidence_is_hashed_kept_outside_the_web_root_and_served_to_the_team_only(
    analyst_a, analyst_b, auditor, team_a, settings, tmp_path
):
    settings.EVIDENCE_ROOT = tmp_path / "evidence"
    settings.EVIDENCE_MAX_BYTES = 1024
    incident = incident_create(actor=analyst_a, title="t", team=team_a)
    body = b"<html><script>alert(1)</script></html>"
    client = browser_for(analyst_a)
    upload = SimpleUploadedFile("../../etc/page.html", body, content_type="text/html")
    client.post(f"/incidents/{incident.number}/evidence/", {"file": upload})
    evidence = incident.evidence.get()
    assert evidence.sha256 == hashlib.sha256(body).hexdigest() and evidence.size == len(body)
    assert evidence.name == "page.html"
    stored = Path(settings.EVIDENCE_ROOT) / evidence.stored_as
    assert stored.read_bytes() == body and "page.html" not in str(stored)

    url = f"/incidents/{incident.number}/evidence/{evidence.pk}/"
    download = client.get(url)
    assert b"".join(download.streaming_content) == body
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment")
    assert browser_for(auditor).get(url).status_code == 200
    assert browser_for(analyst_b).get(url).status_code == 404

    big = SimpleUploadedFile("big.bin", b"x" * 2048)
    refused = client.post(f"/incidents/{incident.number}/evidence/", {"file": big}, follow=True)
    assert "limited to" in refused.content.decode() and incident.evidence.count() == 1
    assert sorted(p.name for p in stored.parent.iterdir()) == [stored.name]


def test_an_assignee_who_leaves_the_team_no_longer_reads_the_case_or_its_evidence(
    analyst_a, manager, team_a, team_b, settings, tmp_path
):
    settings.EVIDENCE_ROOT = tmp_path / "evidence"
    incident = incident_create(actor=analyst_a, title="t", team=team_a)
    client = browser_for(analyst_a)
    upload = SimpleUploadedFile("notes.txt", b"secret", content_type="text/plain")
    client.post(f"/incidents/{incident.number}/evidence/", {"file": upload})
    browser_for(manager).post(f"/incidents/{incident.number}/assign/", {"assignee": "analyst_a"})
    incident.refresh_from_db()
    assert incident.assigned_to == analyst_a
    page = f"/incidents/{incident.number}/"
    evidence = f"{page}evidence/{incident.evidence.get().pk}/"
    assert client.get(page).status_code == 200 and client.get(evidence).status_code == 200

    team_a.members.remove(analyst_a)  # moved to team B
    team_b.members.add(analyst_a)
    assert client.get(page).status_code == 404 and client.get(evidence).status_code == 404
    # a manager, who works every team's cases, reads what is given to them anywhere
    assert browser_for(manager).get(page).status_code == 200


def test_object_permissions_decide_who_sees_and_changes_an_incident(
    analyst_a, analyst_b, auditor, manager, team_a
):
    incident = incident_create(actor=analyst_a, title="secret case", team=team_a)
    page, comment = f"/incidents/{incident.number}/", f"/incidents/{incident.number}/comment/"
    assert browser_for(analyst_b).get(page).status_code == 404
    assert "secret case" not in browser_for(analyst_b).get("/incidents/").content.decode()
    assert browser_for(auditor).get(page).status_code == 200
    assert browser_for(auditor).post(comment, {"body": "x"}).status_code == 403
    assert browser_for(manager).post(comment, {"body": "from the manager"}).status_code == 302

    assign_perm("view_incident", analyst_b, incident)  # shared for reading only
    assert browser_for(analyst_b).get(page).status_code == 200
    assert browser_for(analyst_b).post(comment, {"body": "x"}).status_code == 403
    assign_perm("change_incident", analyst_b, incident)
    assert browser_for(analyst_b).post(comment, {"body": "helping out"}).status_code == 302
    assert incident.comments.count() == 2


def test_grouping_attaches_new_alerts_sharing_an_entity_to_the_open_incident(
    analyst_a, team_a, team_b, settings
):
    settings.INCIDENT_GROUPING = {"keys": ["ip", "user"], "window_hours": 24, "max_alerts": 3}
    first = raise_alert(team_a, "brute force", source__ip="198.51.100.20")
    incident = _escalate(browser_for(analyst_a), first)

    joined = raise_alert(team_a, "success after failures", source__ip="198.51.100.20")
    by_user = raise_alert(team_a, "new service", user__name="eve", source__ip="198.51.100.20")
    other_team = raise_alert(team_b, "same address elsewhere", source__ip="198.51.100.20")
    unrelated = raise_alert(team_a, "another address", source__ip="198.51.100.21")
    host_only = raise_alert(team_a, "host key not configured", host__name="ws-1")
    full = raise_alert(team_a, "fourth", source__ip="198.51.100.20")  # the cap is 3

    linked = set(Alert.objects.filter(incident=incident).values_list("pk", flat=True))
    assert linked == {first.pk, joined.pk, by_user.pk}
    for alert in (other_team, unrelated, host_only, full):
        alert.refresh_from_db()
        assert alert.incident is None
    grouped = IncidentEvent.objects.filter(incident=incident, kind="alert_grouped")
    assert grouped.count() == 2 and grouped.first().data["shared"] == ["ip:198.51.100.20"]

    Incident.objects.filter(pk=incident.pk).update(status="closed")
    late = raise_alert(team_a, "after closing", source__ip="198.51.100.20")
    assert late.incident is None


def test_alerts_can_be_merged_into_an_open_incident_of_their_team(analyst_a, team_a):
    incident = incident_create(actor=analyst_a, title="case", team=team_a)
    alert = raise_alert(team_a, "one more")
    browser_for(analyst_a).post(f"/alerts/{alert.pk}/merge/", {"incident": incident.number})
    alert.refresh_from_db()
    assert alert.incident == incident
    assert IncidentEvent.objects.filter(incident=incident, kind="alert_linked").count() == 1
