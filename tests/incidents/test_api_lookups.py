"""Names people use, over the API: an incident by its number (INC-2026-0002) wherever
its id goes in a URL, and the alert queue filtered by a rule's Sigma name."""

from __future__ import annotations

import pytest

from incidents.services import alert_create
from tests.conftest import client_for
from tests.factories import CorrelationRuleFactory, severity

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(analyst_a):
    made = client_for(analyst_a).post("/api/v1/incidents/", {"title": "case", "team": "Team A"})
    assert made.status_code == 201, made.content
    return made.json()


def test_an_incident_is_read_and_worked_by_its_number(analyst_a, incident):
    api = client_for(analyst_a)
    number = incident["number"]
    assert number.startswith("INC-")
    for key in (number, number.lower(), incident["id"]):
        found = api.get(f"/api/v1/incidents/{key}/")
        assert found.status_code == 200, (key, found.content)
        assert found.json()["id"] == incident["id"]

    said = api.post(f"/api/v1/incidents/{number}/comments/", {"body": "by number"})
    assert said.status_code == 201 and [c["body"] for c in said.json()] == ["by number"]
    changed = api.patch(f"/api/v1/incidents/{number}/", {"status": "triage"}, format="json")
    assert changed.status_code == 200 and changed.json()["status"] == "triage"
    tasks = api.post(f"/api/v1/incidents/{number}/tasks/", {"title": "Collect logs"})
    assert tasks.status_code == 201
    timeline = api.get(f"/api/v1/incidents/{number}/timeline/")
    assert timeline.status_code == 200 and len(timeline.json()) >= 3
    report = api.get(f"/api/v1/reports/incident/{number}/?as=csv")
    assert report.status_code == 200 and number in report.content.decode()


def test_another_teams_incident_is_a_404_by_number_as_by_id(analyst_b, incident):
    api = client_for(analyst_b)
    for key in (incident["number"], incident["id"]):
        assert api.get(f"/api/v1/incidents/{key}/").status_code == 404
        assert api.post(f"/api/v1/incidents/{key}/comments/", {"body": "x"}).status_code == 404
        assert api.get(f"/api/v1/reports/incident/{key}/").status_code == 404


@pytest.mark.parametrize("key", ["INC-2026-9999", "INC-26-1", "2026-0001", "not-an-id"])
def test_an_unknown_or_malformed_incident_reference_is_a_json_404(analyst_a, incident, key):
    answer = client_for(analyst_a).get(f"/api/v1/incidents/{key}/")
    assert answer.status_code == 404 and answer.json()["detail"]


def test_the_alert_queue_filters_by_a_rules_sigma_name_id_or_name(analyst_a, team_a):
    brute = CorrelationRuleFactory(name="SSH brute force", sigma_name="socapp_ssh_brute_force")
    other = CorrelationRuleFactory(name="Port scan", sigma_name="socapp_port_scan")
    for rule in (brute, brute, other):
        alert_create(title=rule.name, severity=severity("high"), team=team_a, rule=rule)
    api = client_for(analyst_a)

    def titles(reference: str) -> list[str]:
        answer = api.get("/api/v1/alerts/", {"rule": reference})
        assert answer.status_code == 200, answer.content
        return [a["title"] for a in answer.json()["results"]]

    for reference in ("socapp_ssh_brute_force", "SSH brute force", brute.pk, brute.sigma_id):
        assert titles(str(reference)) == ["SSH brute force"] * 2, reference
    assert titles("socapp_port_scan") == ["Port scan"]
    # A name of no rule is an empty queue, as an unknown team or source is.
    assert titles("socapp_no_such_rule") == []
