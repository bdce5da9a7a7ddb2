"""Closing an incident: a resolution from the alert close reasons, open tasks refused
unless closed with it, the linked alerts closed with the resolution (audited and pushed),
and reopening that leaves the alerts closed — through the API and the incident page."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from incidents.models import Alert, Incident, IncidentTask
from incidents.services import (
    alert_update,
    incident_escalate,
    incident_escalate_many,
    incident_update,
    task_add,
)
from socapp.models import AuditEntry
from tests.conftest import client_for

from .conftest import browser_for, raise_alert
from .test_live_alerts import _connect, _in_thread

pytestmark = pytest.mark.django_db


def _detail(incident: Incident) -> str:
    return reverse("api:incident-detail", args=[incident.pk])


@pytest.fixture
def case(analyst_a, team_a) -> Incident:
    """An incident holding two alerts, one of them closed by hand as a duplicate."""
    first = raise_alert(team_a, "SSH brute force", source__ip="203.0.113.7")
    second = raise_alert(team_a, "SSH login after failures", source__ip="203.0.113.7")
    incident = incident_escalate_many(alerts=[first, second], actor=analyst_a)
    second.refresh_from_db()
    alert_update(alert=second, actor=analyst_a, status="closed", close_reason="duplicate")
    return incident


def test_closing_needs_a_resolution_among_the_alert_close_reasons(analyst_a, case):
    client = client_for(analyst_a)
    for body, field in [
        ({"status": "closed"}, "resolution"),
        ({"status": "closed", "resolution": "muted"}, "resolution"),  # the mutes' own reason
        ({"status": "closed", "resolution": "fixed it"}, "resolution"),
        ({"resolution": "resolved"}, "resolution"),  # a resolution without closing
    ]:
        response = client.patch(_detail(case), body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), response.json()
    case.refresh_from_db()
    assert (case.status, case.resolution) == ("new", "")
    assert Alert.objects.filter(incident=case, status="in_progress").count() == 1


def test_open_tasks_refuse_closing_unless_they_close_with_it(analyst_a, case):
    task_add(incident=case, actor=analyst_a, title="Reset the root password")
    task_add(incident=case, actor=analyst_a, title="Block 203.0.113.7")
    client = client_for(analyst_a)
    closing = {"status": "closed", "resolution": "resolved"}
    refused = client.patch(_detail(case), closing, format="json")
    assert refused.status_code == 400
    message = " ".join(refused.json()["tasks"])
    assert "2 task(s) still open" in message and "Reset the root password" in message
    assert Incident.objects.get(pk=case.pk).status == "new"

    done = client.patch(_detail(case), {**closing, "close_open_tasks": True}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["resolution"] == "resolved" and done.json()["status"] == "closed"
    tasks = IncidentTask.objects.filter(incident=case)
    assert {(t.status, t.completed_by) for t in tasks} == {("skipped", analyst_a)}


def test_closing_closes_the_open_linked_alerts_with_the_resolution(analyst_a, case):
    response = client_for(analyst_a).patch(
        _detail(case), {"status": "closed", "resolution": "false_positive"}, format="json"
    )
    assert response.status_code == 200, response.content
    alerts = {a.title: a for a in Alert.objects.filter(incident=case)}
    brute = alerts["SSH brute force"]
    assert (brute.status, brute.close_reason) == ("closed", "false_positive")
    assert brute.closed_at is not None
    # Closed before by hand: keeps its own reason.
    assert alerts["SSH login after failures"].close_reason == "duplicate"
    entry = AuditEntry.objects.get(action="alert.update", object_id=str(brute.pk), actor=analyst_a)
    assert entry.changes["close_reason"] == ["", "false_positive"]
    assert entry.changes["incident"] == case.number
    queue = client_for(analyst_a).get(reverse("api:alert-list"), {"status": "in_progress"})
    assert queue.json()["results"] == []
    report = client_for(analyst_a).get(
        reverse("api:incident-report-detail", args=[case.pk]), {"as": "csv"}
    )
    assert '"report","Resolution","False positive"' in report.content.decode()


def test_reopening_clears_the_resolution_and_leaves_the_alerts_closed(analyst_a, case):
    incident_update(incident=case, actor=analyst_a, status="closed", resolution="resolved")
    response = client_for(analyst_a).patch(_detail(case), {"status": "triage"}, format="json")
    assert response.status_code == 200
    assert (response.json()["resolution"], response.json()["resolved_at"]) == ("", None)
    assert set(Alert.objects.filter(incident=case).values_list("status", flat=True)) == {"closed"}


def test_who_may_close(analyst_b, auditor, case):
    closing = {"status": "closed", "resolution": "resolved"}
    assert client_for(analyst_b).patch(_detail(case), closing, format="json").status_code == 404
    assert client_for(auditor).patch(_detail(case), closing, format="json").status_code == 403
    assert Incident.objects.get(pk=case.pk).status == "new"


def test_the_close_form_warns_about_open_tasks_and_closes_the_alerts(analyst_a, team_a):
    alert = raise_alert(team_a, "Beaconing to dyn-dns", host__name="ws-7")
    incident = incident_escalate(alert=alert, actor=analyst_a)
    task_add(incident=incident, actor=analyst_a, title="Isolate <ws-7>")
    browser = browser_for(analyst_a)
    page = browser.get(f"/incidents/{incident.number}/").content.decode()
    assert "1 task still open" in page and "“Isolate &lt;ws-7&gt;”" in page
    assert "1 linked alert\n        still open will be closed" in page
    assert '<option value="muted">' not in page and '<option value="duplicate">' in page

    url = f"/incidents/{incident.number}/close/"
    refused = browser.post(url, {"resolution": "benign_true_positive"}, follow=True)
    assert "still open" in refused.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "new"

    closed = browser.post(
        url, {"resolution": "benign_true_positive", "close_open_tasks": "on"}, follow=True
    )
    page = closed.content.decode()
    assert "Benign true positive" in page and "closed 1 linked alert as" in page
    alert.refresh_from_db()
    assert (alert.status, alert.close_reason) == ("closed", "benign_true_positive")
    assert 'id="close-incident"' not in page  # closed: the form gives way to "Move to triage"


@pytest.mark.django_db(transaction=True)
def test_alerts_closed_with_the_incident_are_pushed_to_the_queue_once(analyst_a, team_a):
    alert = raise_alert(team_a, "Large transfer out", source__ip="10.0.0.9")
    incident = incident_escalate(alert=alert, actor=analyst_a)

    async def scenario():
        queue, ok, _ = await _connect(analyst_a)
        assert ok
        await _in_thread(
            lambda: incident_update(
                incident=incident, actor=analyst_a, status="closed", resolution="resolved"
            )
        )
        heard = []
        while not await queue.receive_nothing(timeout=1):
            heard.append(await queue.receive_json_from(timeout=1))
        await queue.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    # The escalation's own push may still be on its way when the socket opens (pushes are
    # sent from a background queue): count the ones that say "closed".
    closed = [
        (m["kind"], m["id"])
        for m in heard
        if m["kind"].startswith("alert.") and m["status"] == "closed"
    ]
    assert closed == [("alert.updated", str(alert.pk))]
    assert {m["kind"] for m in heard} >= {"incident.status_changed", "incident.alerts_closed"}
