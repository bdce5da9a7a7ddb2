"""Who may be given an alert, an incident or a task: people who can work the team's cases.

Being an incident's assignee lets one read it and download its evidence, so an assignee
from another team, without a role, or with a role that changes nothing is refused, on
the pages (a form error), over the API (400 naming the field) and in the services.
"""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from incidents.models import Alert, Incident, IncidentTask
from incidents.services import incident_create, task_add
from tests.conftest import client_for
from tests.factories import UserFactory

from .conftest import browser_for, raise_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(analyst_a, team_a, settings, tmp_path) -> Incident:
    settings.EVIDENCE_ROOT = tmp_path
    incident = incident_create(actor=analyst_a, title="Beaconing host", team=team_a)
    browser_for(analyst_a).post(
        f"/incidents/{incident.number}/evidence/",
        {"file": SimpleUploadedFile("memory.dmp", b"secret bytes")},
    )
    return incident


def test_the_api_refuses_assignees_who_cannot_work_the_teams_cases(
    case, manager, analyst_a, analyst_b, auditor, nobody
):
    api = client_for(manager)
    url = f"/api/v1/incidents/{case.pk}/assign/"
    inactive = UserFactory(username="gone", is_active=False)
    for outsider in (analyst_b, auditor, nobody, inactive):
        refused = api.post(url, {"assignee": outsider.username}, format="json")
        assert refused.status_code == 400, outsider
        assert "cannot be assigned" in refused.json()["assignee"][0]
    assert Incident.objects.get(pk=case.pk).assigned_to is None
    # Having been refused, the other team's analyst still cannot read the case or its files.
    evidence = case.evidence.get()
    other = client_for(analyst_b)
    assert other.get(f"/api/v1/incidents/{case.pk}/").status_code == 404
    assert other.get(f"/api/v1/incidents/{case.pk}/evidence/{evidence.pk}/").status_code == 404

    for insider in (analyst_a, manager):
        taken = api.post(url, {"assignee": insider.username}, format="json")
        assert taken.status_code == 200 and taken.json()["assigned_to"] == insider.username
    assert api.post(url, {"assignee": None}, format="json").json()["assigned_to"] is None


def test_alerts_and_tasks_take_only_assignees_who_can_work_them(
    case, team_a, analyst_a, analyst_b, auditor, integration
):
    alert = raise_alert(team_a, "port scan", source__ip="10.0.0.5")
    api = client_for(analyst_a)
    for outsider in (analyst_b, auditor):
        refused = api.patch(f"/api/v1/alerts/{alert.pk}/", {"assignee": outsider.username})
        assert refused.status_code == 400 and "cannot be assigned" in str(refused.json())
    assert Alert.objects.get(pk=alert.pk).assignee is None
    taken = api.patch(f"/api/v1/alerts/{alert.pk}/", {"assignee": "integration"})
    assert taken.status_code == 200 and taken.json()["assignee"] == "integration"

    tasks = f"/api/v1/incidents/{case.pk}/tasks/"
    refused = api.post(tasks, {"title": "Image the disk", "assignee": "analyst_b"})
    assert refused.status_code == 400 and "cannot be assigned" in str(refused.json())
    added = api.post(tasks, {"title": "Image the disk", "assignee": "analyst_a"})
    assert added.status_code == 201
    task = IncidentTask.objects.get(title="Image the disk")
    moved = api.patch(tasks, {"task": str(task.pk), "assignee": "auditor"}, format="json")
    assert moved.status_code == 400
    assert IncidentTask.objects.get(pk=task.pk).assignee == analyst_a


def test_the_incident_page_offers_and_accepts_only_those_who_can_work_the_case(
    case, manager, analyst_a, analyst_b, auditor, nobody
):
    page = browser_for(manager).get(f"/incidents/{case.number}/").content.decode()
    offered = page.split('name="assignee"')[1].split("</select>")[0]
    assert 'value="analyst_a"' in offered and 'value="manager"' in offered
    for outsider in ("analyst_b", "auditor", "nobody"):
        assert f'value="{outsider}"' not in offered
    answer = browser_for(manager).post(
        f"/incidents/{case.number}/assign/", {"assignee": "analyst_b"}, follow=True
    )
    assert "This person cannot be assigned" in answer.content.decode()
    assert Incident.objects.get(pk=case.pk).assigned_to is None


def test_the_alert_page_and_the_queue_refuse_assignees_of_another_team(
    team_a, analyst_a, analyst_b
):
    alert = raise_alert(team_a, "port scan", source__ip="10.0.0.5")
    client = browser_for(analyst_a)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'value="analyst_b"' not in page.split('name="assignee"')[1].split("</select>")[0]
    answer = client.post(f"/alerts/{alert.pk}/assign/", {"assignee": "analyst_b"}, follow=True)
    assert "This person cannot be assigned" in answer.content.decode()
    other = raise_alert(team_a, "second scan", source__ip="10.0.0.6")
    bulk = client.post(
        "/alerts/bulk/",
        {"action": "assign", "assignee": "analyst_b", "ids": [str(alert.pk), str(other.pk)]},
        follow=True,
    )
    assert "analyst_b cannot be assigned" in bulk.content.decode()
    assert not Alert.objects.filter(assignee__isnull=False).exists()


def test_the_services_refuse_them_too(team_a, analyst_a, analyst_b, nobody):
    with pytest.raises(ValidationError) as refused:
        incident_create(actor=analyst_a, title="x", team=team_a, assigned_to=nobody)
    assert "nobody cannot be assigned" in str(refused.value)
    assert not Incident.objects.exists()
    incident = incident_create(actor=analyst_a, title="x", team=team_a, assigned_to=analyst_a)
    with pytest.raises(ValidationError):
        task_add(incident=incident, actor=analyst_a, title="t", assignee=analyst_b)


def admin_change(client, url: str, **changes) -> object:
    """POST the admin change form at ``url`` as it stands, with ``changes``."""
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data: dict[str, object] = {}
    for name in form.fields:
        bound = form[name]
        value, widget = bound.value(), bound.field.widget
        if isinstance(widget, forms.MultiWidget):  # a date and a time
            names = widget.widgets_names  # type: ignore[attr-defined]
            parts = zip(names, widget.widgets, widget.decompress(value) or [], strict=True)
            data.update({f"{name}{s}": w.format_value(p) or "" for s, w, p in parts})
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif value is not None:
            data[name] = str(value)
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, 0)
    data.update(changes)
    return client.post(url, data)


def test_the_admin_refuses_assignees_who_cannot_work_the_teams_cases(
    case, team_a, soc_admin, analyst_a, analyst_b, nobody
):
    """The Django admin's change forms are forms too: before, a SOC admin could give team
    A's incident (and its evidence) or alert to team B's analyst or to a user without a
    role there, where the console and the API refuse them."""
    admin = browser_for(soc_admin)
    url = f"/admin/incidents/incident/{case.pk}/change/"
    for outsider in (analyst_b, nobody):
        refused = admin_change(admin, url, assigned_to=str(outsider.pk))
        assert refused.status_code == 200  # the form again, with the reason
        assert "cannot be assigned" in refused.content.decode()
    assert Incident.objects.get(pk=case.pk).assigned_to is None
    other = client_for(analyst_b)
    assert other.get(f"/api/v1/incidents/{case.pk}/").status_code == 404
    taken = admin_change(admin, url, assigned_to=str(analyst_a.pk))
    assert taken.status_code == 302
    assert Incident.objects.get(pk=case.pk).assigned_to == analyst_a

    alert = raise_alert(team_a, "port scan", source__ip="10.0.0.5")
    url = f"/admin/incidents/alert/{alert.pk}/change/"
    refused = admin_change(admin, url, assignee=str(analyst_b.pk))
    assert refused.status_code == 200 and "cannot be assigned" in refused.content.decode()
    assert Alert.objects.get(pk=alert.pk).assignee is None
    taken = admin_change(admin, url, assignee=str(analyst_a.pk))
    assert taken.status_code == 302, taken.context["adminform"].form.errors
    assert Alert.objects.get(pk=alert.pk).assignee == analyst_a


def test_cases_go_back_to_the_queue_when_their_assignee_leaves_the_team_or_loses_the_role(
    analyst_a, manager, team_a
):
    from incidents.services import incident_assign
    from socapp.models import AuditEntry

    open_case = incident_create(actor=analyst_a, title="open", team=team_a)
    closed_case = incident_create(actor=analyst_a, title="closed", team=team_a)
    managers_case = incident_create(actor=analyst_a, title="theirs", team=team_a)
    for incident, who in (
        (open_case, analyst_a),
        (closed_case, analyst_a),
        (managers_case, manager),
    ):
        incident_assign(incident=incident, assignee=who, actor=manager)
    Incident.objects.filter(pk=closed_case.pk).update(status="closed")
    alert = raise_alert(team_a)
    Alert.objects.filter(pk=alert.pk).update(assignee=analyst_a)
    team_a.members.add(manager)

    team_a.members.remove(analyst_a, manager)  # as the admin's team form does

    open_case.refresh_from_db()
    assert open_case.assigned_to is None
    entry = open_case.timeline.filter(kind="assigned").latest("created_at")
    assert entry.actor is None and entry.data["previous"] == "analyst_a"
    assert "no longer works team Team A" in entry.data["reason"]
    assert Alert.objects.get(pk=alert.pk).assignee is None
    # a closed case keeps who worked it; a manager works every team's cases anyway
    assert Incident.objects.get(pk=closed_case.pk).assigned_to == analyst_a
    assert Incident.objects.get(pk=managers_case.pk).assigned_to == manager
    handed = AuditEntry.objects.filter(actor=None, action__in=["incident.assign", "alert.update"])
    assert handed.count() == 2
    page = browser_for(manager).get(f"/incidents/{open_case.number}/").content.decode()
    assert "no longer works team Team A" in page

    # taking the role away from the user's side hands back what they were given since
    team_a.members.add(analyst_a)
    incident_assign(incident=open_case, assignee=analyst_a, actor=manager)
    analyst_a.groups.clear()
    open_case.refresh_from_db()
    assert open_case.assigned_to is None


def test_clearing_a_team_hands_back_its_members_open_cases(analyst_a, manager, team_a):
    from incidents.services import incident_assign

    incident = incident_create(actor=analyst_a, title="open", team=team_a)
    incident_assign(incident=incident, assignee=analyst_a, actor=manager)
    team_a.members.clear()  # from the team's side: the signal does not say whom it removed
    incident.refresh_from_db()
    assert incident.assigned_to is None
