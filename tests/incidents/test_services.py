"""Alert triage and incident services, through the API an analyst or manager uses."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from socapp.models import AuditEntry
from tests.conftest import client_for
from tests.factories import AlertFactory


@pytest.mark.django_db
def test_acknowledging_records_who_and_when(analyst_a, team_a):
    alert = AlertFactory(team=team_a)
    response = client_for(analyst_a).patch(
        reverse("api:alert-detail", args=[alert.pk]), {"status": "acknowledged"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == "analyst_a"
    assert body["acknowledged_at"] is not None
    assert AuditEntry.objects.filter(action="alert.update", object_id=str(alert.pk)).exists()


@pytest.mark.django_db
def test_closing_needs_a_reason_and_keeps_it(analyst_a, team_a):
    alert = AlertFactory(team=team_a)
    client = client_for(analyst_a)
    url = reverse("api:alert-detail", args=[alert.pk])
    closed = client.patch(
        url, {"status": "closed", "close_reason": "false_positive"}, format="json"
    ).json()
    assert closed["close_reason"] == "false_positive" and closed["closed_at"]
    reopened = client.patch(url, {"status": "open"}, format="json").json()
    assert reopened["close_reason"] == "" and reopened["closed_at"] is None


@pytest.mark.django_db
def test_incident_numbers_count_up_per_year(analyst_a, team_a):
    client = client_for(analyst_a)
    numbers = [
        client.post(
            reverse("api:incident-list"), {"title": f"case {n}", "team": "Team A"}, format="json"
        ).json()["number"]
        for n in range(3)
    ]
    year = timezone.now().year
    first = int(numbers[0].rsplit("-", 1)[1])
    assert numbers == [f"INC-{year}-{first + n:04d}" for n in range(3)]


@pytest.mark.django_db
def test_analysts_open_incidents_only_for_their_team(analyst_a, team_b):
    response = client_for(analyst_a).post(
        reverse("api:incident-list"), {"title": "not mine", "team": "Team B"}, format="json"
    )
    assert response.status_code == 403
    assert not Incident.objects.filter(title="not mine").exists()


@pytest.mark.django_db
def test_managers_assign_and_the_timeline_remembers(manager, analyst_a, team_a):
    incident = (
        client_for(analyst_a)
        .post(reverse("api:incident-list"), {"title": "phish", "team": "Team A"}, format="json")
        .json()
    )
    manager_client = client_for(manager)
    assigned = manager_client.post(
        reverse("api:incident-assign", args=[incident["id"]]),
        {"assignee": "analyst_a"},
        format="json",
    )
    assert assigned.status_code == 200 and assigned.json()["assigned_to"] == "analyst_a"
    manager_client.patch(
        reverse("api:incident-detail", args=[incident["id"]]),
        {"status": "closed", "resolution": "false_positive"},
        format="json",
    )
    timeline = manager_client.get(reverse("api:incident-timeline", args=[incident["id"]])).json()
    assert [e["kind"] for e in timeline] == ["created", "assigned", "status_changed"]
    assert timeline[1]["actor"] == "manager"
    assert timeline[2]["data"] == {"old": "new", "new": "closed", "resolution": "false_positive"}
    assert Incident.objects.get(pk=incident["id"]).resolved_at is not None


@pytest.mark.django_db
def test_analysts_cannot_assign(analyst_a, team_a):
    client = client_for(analyst_a)
    incident = client.post(
        reverse("api:incident-list"), {"title": "x", "team": "Team A"}, format="json"
    ).json()
    response = client.post(
        reverse("api:incident-assign", args=[incident["id"]]),
        {"assignee": "analyst_a"},
        format="json",
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_services_refuse_nul_in_what_they_store(analyst_a, team_a):
    """Forms and serializers refuse NUL first; a service reached another way (a task, a
    command) must not send it to PostgreSQL, which stores none: a ValidationError naming
    the field, and nothing stored."""
    from django.core.exceptions import ValidationError

    from incidents.services import alert_comment, incident_comment, task_add
    from incidents.services.actions import action_request
    from incidents.services.cases import incident_create

    alert = AlertFactory(team=team_a)
    incident = incident_create(actor=analyst_a, title="case", team=team_a)
    attempts = {
        "body": lambda: alert_comment(alert=alert, actor=analyst_a, body="a\x00b"),
        "title": lambda: task_add(incident=incident, actor=analyst_a, title="\x00"),
        "parameters": lambda: action_request(
            incident=incident,
            actor=analyst_a,
            action_type="block_ip",
            parameters={"ip": "192.0.2.1", "note": "x\x00"},
        ),
        "description": lambda: incident_create(
            actor=analyst_a, title="t", team=team_a, description="\x00"
        ),
    }
    for field, attempt in attempts.items():
        with pytest.raises(ValidationError) as caught:
            attempt()
        assert caught.value.message_dict == {field: ["Null characters are not allowed."]}
    with pytest.raises(ValidationError):
        incident_comment(incident=incident, actor=analyst_a, body="\x00")
    assert not alert.comments.exists() and not incident.comments.exists()
    assert not incident.tasks.exists() and Incident.objects.count() == 1
