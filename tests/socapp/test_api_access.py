"""Deny by default: who may read and write what through /api/v1/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from socapp.roof.urls import router
from tests.conftest import client_for
from tests.factories import AlertFactory, AssetTypeFactory, IncidentFactory, ThreatIntelFactory

# Every endpoint that lists something (the report downloads are one object each).
LIST_URLS = [
    f"api:{basename}-list" for _, viewset, basename in router.registry if hasattr(viewset, "list")
]
MODELLESS_URLS = ["api:api-root", "api:me", "schema"]
ALL_READ_URLS = LIST_URLS + MODELLESS_URLS
# The one list not every role reads: the audit log, for auditors and SOC admins
# (tests/socapp/test_audit_log_reading.py).
READ_BY_AUDIT_READERS_ONLY = {"api:auditentry-list"}


def test_every_core_entity_has_an_endpoint():
    prefixes = {prefix for prefix, _, _ in router.registry}
    assert {
        "events",
        "sources",
        "event-types",
        "alerts",
        "severities",
        "incidents",
        "response-actions",
        "rules",
        "correlations",
        "threat-intel",
        "iocs",
        "assets",
        "asset-types",
        "teams",
        "users",
    } <= prefixes


@pytest.mark.django_db
@pytest.mark.parametrize("name", ALL_READ_URLS)
def test_anonymous_gets_401_with_a_bearer_challenge(api, name):
    response = api.get(reverse(name))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ALL_READ_URLS)
def test_a_user_without_a_role_gets_403_everywhere(nobody, name):
    response = client_for(nobody).get(reverse(name))
    assert response.status_code == 403
    assert "no role" in response.content.decode()


@pytest.mark.django_db
def test_a_user_without_a_role_cannot_write_either(nobody, team_a):
    client = client_for(nobody)
    assert (
        client.post(reverse("api:incident-list"), {"title": "x", "team": "Team A"}).status_code
        == 403
    )
    assert client.post(reverse("api:assettype-list"), {"name": "x"}).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["analyst_a", "manager", "soc_admin", "auditor", "integration"])
@pytest.mark.parametrize("name", ALL_READ_URLS)
def test_every_role_can_read(request, persona, name):
    user = request.getfixturevalue(persona)
    allowed = name not in READ_BY_AUDIT_READERS_ONLY or persona in ("soc_admin", "auditor")
    assert client_for(user).get(reverse(name)).status_code == (200 if allowed else 403)


ADMIN_ONLY_CREATES = [
    ("api:source-list", {"name": "fw-9", "format": "syslog", "team": "SOC"}),
    ("api:eventtype-list", {"name": "vpn_login", "category": "authentication"}),
    ("api:assettype-list", {"name": "router"}),
    ("api:threatintel-list", {"source_name": "abuse.ch feed", "intel_type": "feed"}),
    (
        "api:correlationrule-list",
        {
            "definition": "title: r1\nlogsource: {product: linux, service: auth}\n"
            "detection:\n  sel:\n    event.action: failed\n  condition: sel\n"
        },
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "body"), ADMIN_ONLY_CREATES)
def test_an_analyst_reads_but_does_not_administer(analyst_a, name, body):
    response = client_for(analyst_a).post(reverse(name), body, format="json")
    assert response.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "body"), ADMIN_ONLY_CREATES)
def test_a_soc_admin_administers(soc_admin, name, body):
    response = client_for(soc_admin).post(reverse(name), body, format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "body"), ADMIN_ONLY_CREATES)
def test_an_auditor_changes_nothing(auditor, name, body):
    assert client_for(auditor).post(reverse(name), body, format="json").status_code == 403


@pytest.mark.django_db
def test_auditor_cannot_triage_or_delete(auditor, team_a):
    alert = AlertFactory(team=team_a)
    client = client_for(auditor)
    url = reverse("api:alert-detail", args=[alert.pk])
    assert client.get(url).status_code == 200
    assert client.patch(url, {"status": "acknowledged"}, format="json").status_code == 403
    asset_type = AssetTypeFactory()
    assert client.delete(reverse("api:assettype-detail", args=[asset_type.pk])).status_code == 403


@pytest.mark.django_db
def test_analysts_see_only_their_teams_alerts(analyst_a, analyst_b, team_a, team_b):
    mine, theirs = AlertFactory(team=team_a), AlertFactory(team=team_b)
    client = client_for(analyst_a)
    ids = {a["id"] for a in client.get(reverse("api:alert-list")).json()["results"]}
    assert str(mine.pk) in ids and str(theirs.pk) not in ids
    assert client.get(reverse("api:alert-detail", args=[theirs.pk])).status_code == 404
    patch = client.patch(
        reverse("api:alert-detail", args=[theirs.pk]), {"status": "closed"}, format="json"
    )
    assert patch.status_code == 404


@pytest.mark.django_db
def test_managers_and_auditors_see_every_team(manager, auditor, team_a, team_b):
    AlertFactory(team=team_a), AlertFactory(team=team_b)
    IncidentFactory(team=team_a), IncidentFactory(team=team_b)
    for user in (manager, auditor):
        client = client_for(user)
        assert client.get(reverse("api:alert-list")).json()["count"] == 2
        assert client.get(reverse("api:incident-list")).json()["count"] == 2


@pytest.mark.django_db
def test_incidents_follow_team_and_object_grants_not_a_stale_assignment(
    analyst_a, analyst_b, team_a, team_b
):
    from guardian.shortcuts import assign_perm

    own = IncidentFactory(team=team_a)
    # given to analyst_a though they cannot work team B's cases (an assignment from
    # before assignees were checked): being the assignee opens nothing by itself
    stale = IncidentFactory(team=team_b, assigned_to=analyst_a)
    shared = IncidentFactory(team=team_b)
    hidden = IncidentFactory(team=team_b)
    assign_perm("incidents.view_incident", analyst_a, shared)
    client = client_for(analyst_a)
    numbers = {i["number"] for i in client.get(reverse("api:incident-list")).json()["results"]}
    assert numbers == {own.number, shared.number}
    assert client.get(reverse("api:incident-detail", args=[hidden.pk])).status_code == 404
    assert client.get(reverse("api:incident-detail", args=[stale.pk])).status_code == 404
    # Read access through a grant is not write access.
    patch = client.patch(
        reverse("api:incident-detail", args=[shared.pk]), {"title": "mine now"}, format="json"
    )
    assert patch.status_code == 403
    assert (
        client.patch(
            reverse("api:incident-detail", args=[own.pk]), {"status": "triage"}, format="json"
        ).status_code
        == 200
    )


@pytest.mark.django_db
def test_secrets_are_write_only(soc_admin):
    client = client_for(soc_admin)
    created = client.post(
        reverse("api:threatintel-list"),
        {"source_name": "vendor feed", "credentials": {"api_key": "s3cr3t"}},
        format="json",
    )
    assert created.status_code == 201
    body = client.get(reverse("api:threatintel-detail", args=[created.json()["id"]])).json()
    assert "credentials" not in body
    assert body["has_credentials"] is True
    assert "s3cr3t" not in str(body)


@pytest.mark.django_db
def test_bad_input_is_a_4xx_with_a_message(soc_admin, analyst_a, team_a):
    client = client_for(soc_admin)
    response = client.post(
        reverse("api:asset-list"),
        {"name": "h", "asset_type": "no-such-type", "ip_addresses": ["999.1.1.1"]},
        format="json",
    )
    assert response.status_code == 400
    assert "asset_type" in response.json() and "ip_addresses" in response.json()
    assert client.get("/api/v1/events/not-a-uuid/").status_code == 404
    not_an_address = client.get(reverse("api:event-list"), {"source_ip": "nonsense"})
    assert not_an_address.status_code == 400 and "source_ip" in not_an_address.json()
    assert client.get(reverse("api:alert-list"), {"since": "yesterday"}).status_code == 400
    ThreatIntelFactory()
    alert = AlertFactory(team=team_a)
    closing = client_for(analyst_a).patch(
        reverse("api:alert-detail", args=[alert.pk]), {"status": "closed"}, format="json"
    )
    assert closing.status_code == 400
    assert "close_reason" in closing.json()
