"""The read-only auditor (and SOC admins) read the audit log, on a console page and at
GET /api/v1/audit/: filtered, paginated, escaped, every field shown. Nobody else does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from socapp.audit import AuditItem, audit_record, audit_record_many
from socapp.models import AuditEntry
from tests.conftest import client_for
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def entries(analyst_a, manager):
    team = TeamFactory(name="Blue")
    audit_record(actor=analyst_a, action="incident.comment", target=team, remote_addr="10.0.0.1")
    audit_record(actor=manager, action="incident.assign", target=team, changes={"to": "x"})
    audit_record(actor=manager, action="rule.update", changes={"level": ["low", "high"]})
    return team


ACTIONS = {"rule.update", "incident.assign", "incident.comment"}


def test_auditors_and_admins_read_the_log_and_nobody_else_does(
    entries, auditor, soc_admin, analyst_a, manager, integration, nobody
):
    for reader in (auditor, soc_admin):
        page = browser(reader).get("/audit/")
        assert page.status_code == 200, reader
        text = page.content.decode()
        assert 'href="/audit/">Audit log</a>' in text and "incident.assign" in text
        listed = client_for(reader).get("/api/v1/audit/")
        assert listed.status_code == 200
        # Logging in and being refused are audited too (auth.*, access.*); these are
        # the three entries the fixture wrote, newest first.
        assert [e["action"] for e in listed.json()["results"] if e["action"] in ACTIONS] == [
            "rule.update",
            "incident.assign",
            "incident.comment",
        ]
    for refused in (analyst_a, manager, integration, nobody):
        assert browser(refused).get("/audit/").status_code == 403, refused
        assert client_for(refused).get("/api/v1/audit/").status_code == 403, refused
        assert 'href="/audit/"' not in browser(refused).get("/").content.decode()
    assert Client().get("/api/v1/audit/").status_code == 401


def test_the_api_is_read_only_even_for_admins(entries, soc_admin):
    api = client_for(soc_admin)
    first = AuditEntry.objects.order_by("seq").first()
    # Refusals are audited (access.denied); nothing else may appear or change.
    written = AuditEntry.objects.exclude(action__startswith="access.")
    before = written.count()
    assert api.post("/api/v1/audit/", {"action": "forged"}).status_code in (403, 405)
    assert api.patch(f"/api/v1/audit/{first.seq}/", {"action": "x"}).status_code in (403, 405)
    assert api.delete(f"/api/v1/audit/{first.seq}/").status_code in (403, 405)
    assert written.count() == before
    assert not AuditEntry.objects.filter(action="forged").exists()
    assert AuditEntry.objects.get(seq=first.seq).action == first.action


def test_filters_by_actor_action_object_and_time(entries, auditor):
    api = client_for(auditor)

    def actions(**params) -> list[str]:
        answer = api.get("/api/v1/audit/", params)
        assert answer.status_code == 200, answer.content
        return [e["action"] for e in answer.json()["results"]]

    assert actions(actor="manager") == ["rule.update", "incident.assign"]
    assert actions(action="incident.assign") == ["incident.assign"]
    assert actions(action="incident.") == ["incident.assign", "incident.comment"]
    assert actions(object_type="socapp.team", object_id=str(entries.pk)) == [
        "incident.assign",
        "incident.comment",
    ]
    now = timezone.now()
    assert len(actions(since=(now - timedelta(minutes=5)).isoformat())) == 3
    assert actions(until=(now - timedelta(minutes=5)).isoformat()) == []
    assert api.get("/api/v1/audit/", {"since": "yesterday-ish"}).status_code == 400

    page = browser(auditor).get("/audit/", {"actor": "analyst_a"}).content.decode()
    assert "<td>incident.comment</td>" in page and "<td>incident.assign</td>" not in page
    bad = browser(auditor).get("/audit/", {"until": "not a time"})
    assert bad.status_code == 400 and "until" in bad.content.decode()


def test_pages_of_fifty_newest_first(analyst_a, auditor):
    audit_record_many(actor=analyst_a, items=[AuditItem(f"test.step{n:03d}") for n in range(120)])
    client = browser(auditor)
    seen: list[int] = []
    url = "/audit/?actor=analyst_a"
    for expected in (50, 50, 20):
        page = client.get(url).content.decode()
        rows = [int(part.split('"')[0]) for part in page.split('<tr data-seq="')[1:]]
        assert len(rows) == expected
        seen += rows
        if expected == 20:
            assert 'id="older"' not in page
            break
        url = "/audit/" + page.split('id="older" href="')[1].split('"')[0].replace("&amp;", "&")
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 120

    api = client_for(auditor)
    first = api.get("/api/v1/audit/", {"actor": "analyst_a", "page_size": 100}).json()
    second = api.get(first["next"]).json()
    assert len(first["results"]) == 100 and len(second["results"]) == 20
    assert second["next"] is None


def test_what_the_log_holds_is_shown_as_text(analyst_a, auditor):
    team = TeamFactory(name='<script>alert("x")</script>')
    audit_record(
        actor=analyst_a, action="team.create", target=team, changes={"note": "<img src=x>"}
    )
    page = browser(auditor).get("/audit/").content.decode()
    assert '<script>alert("x")</script>' not in page and "<img src=x>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_every_field_of_an_entry_is_shown(entries, auditor):
    names = {field.name for field in AuditEntry._meta.concrete_fields}
    row = client_for(auditor).get("/api/v1/audit/").json()["results"][0]
    assert set(row) == names
    page = browser(auditor).get("/audit/").content.decode()
    for field in AuditEntry._meta.concrete_fields:
        assert f"<dt>{field.verbose_name}</dt>" in page or field.name in {
            "seq",
            "at",
            "actor_name",
            "remote_addr",
            "action",
            "object_type",
            "object_id",
            "object_repr",
        }
