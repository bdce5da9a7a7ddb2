"""The alert queue and alert detail pages, as an analyst uses them (Django's test
client against the real database; the live browser tests are in test_browser.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.choices import AlertStatus
from incidents.models import Alert, AlertMute
from socapp.models import AuditEntry, SavedView

from .conftest import browser_for, raise_alert

pytestmark = pytest.mark.django_db


def _rows(html: str) -> int:
    return html.count("<tr data-id=")


def test_the_queue_shows_a_team_its_open_alerts_newest_first(analyst_a, analyst_b, team_a, team_b):
    older = raise_alert(team_a, "older one", source__ip="192.0.2.1")
    Alert.objects.filter(pk=older.pk).update(triggered_at=timezone.now() - timedelta(hours=1))
    raise_alert(team_a, "newer one", source__ip="192.0.2.2")
    raise_alert(team_b, "team B's alert", source__ip="192.0.2.3")
    closed = raise_alert(team_a, "closed one")
    Alert.objects.filter(pk=closed.pk).update(status="closed", close_reason="resolved")

    html = browser_for(analyst_a).get("/alerts/").content.decode()
    assert html.index("newer one") < html.index("older one")
    assert "team B&#x27;s alert" not in html and "closed one" not in html
    # Word and colour (the colour from /severities.css: no inline style under the CSP).
    assert '<span class="badge sev-high">High</span>' in html
    assert "ip:192.0.2.2" in html
    assert browser_for(analyst_b).get(f"/alerts/{older.pk}/").status_code == 404


def test_filters_by_entity_severity_status_and_assignee(analyst_a, team_a):
    raise_alert(team_a, "about root", "low", user__name="root")
    raise_alert(team_a, "about web1", "critical", host__name="WEB1")
    mine = raise_alert(team_a, "mine", "medium")
    Alert.objects.filter(pk=mine.pk).update(assignee=analyst_a)
    client = browser_for(analyst_a)

    def titles(query: str) -> set[str]:
        html = client.get("/alerts/?" + query).content.decode()
        return {t for t in ("about root", "about web1", "mine") if f">{t}</a>" in html}

    assert titles("entity=user:root") == {"about root"}
    assert titles("entity=web1") == {"about web1"}  # a bare name: host or user, any case
    assert titles("severity=critical&severity=low") == {"about root", "about web1"}
    assert titles("assignee=me") == {"mine"}
    assert titles("assignee=none&status=open") == {"about root", "about web1"}
    assert titles("status=closed") == set()


def test_acknowledge_assign_comment_change_severity_and_close(analyst_a, team_a):
    alert = raise_alert(team_a, "scan", "low", source__ip="198.51.100.7")
    client = browser_for(analyst_a)
    base = f"/alerts/{alert.pk}/"

    assert client.post(base + "acknowledge/").status_code == 302
    client.post(base + "assign/", {"assignee": "analyst_a"})
    client.post(base + "comment/", {"body": "looks like our scanner <b>again</b>"})
    client.post(base + "severity/", {"severity": "medium"})
    refused = client.post(base + "close/", {}, follow=True).content.decode()
    assert "close_reason" in refused or "This field is required" in refused
    client.post(base + "close/", {"close_reason": "benign_true_positive"})

    alert.refresh_from_db()
    assert alert.acknowledged_by == analyst_a and alert.acknowledged_at is not None
    assert alert.assignee == analyst_a and alert.severity.name == "medium"
    assert (alert.status, alert.close_reason) == ("closed", "benign_true_positive")
    page = client.get(base).content.decode()
    assert "looks like our scanner &lt;b&gt;again&lt;/b&gt;" in page
    actions = set(
        AuditEntry.objects.filter(object_id=str(alert.pk)).values_list("action", flat=True)
    )
    assert {"alert.update", "alert.comment"} <= actions


def test_an_auditor_reads_alerts_but_cannot_triage(auditor, team_a):
    alert = raise_alert(team_a, "scan")
    client = browser_for(auditor)
    assert client.get(f"/alerts/{alert.pk}/").status_code == 200
    assert client.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 403
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_muting_closes_similar_alerts_and_catches_new_ones_until_it_expires(analyst_a, team_a):
    first = raise_alert(team_a, "noisy", "low", source__ip="10.1.1.1", user__name="svc")
    same = raise_alert(team_a, "noisy", "low", source__ip="10.1.1.1", user__name="svc")
    other_ip = raise_alert(team_a, "noisy", "low", source__ip="10.1.1.2", user__name="svc")
    client = browser_for(analyst_a)
    assert (
        client.post(f"/alerts/{first.pk}/mute/", {"duration": "8h", "reason": ""}).status_code
        == 302
    )
    assert not AlertMute.objects.exists()  # a mute needs a reason

    client.post(f"/alerts/{first.pk}/mute/", {"duration": "8h", "reason": "backup job"})
    mute = AlertMute.objects.get()
    assert mute.created_by == analyst_a and mute.reason == "backup job"
    assert timedelta(hours=7, minutes=59) < mute.expires_at - timezone.now() <= timedelta(hours=8)
    statuses = dict(Alert.objects.values_list("pk", "close_reason"))
    assert statuses[first.pk] == statuses[same.pk] == "muted" and statuses[other_ip.pk] == ""

    later = raise_alert(team_a, "noisy", "low", source__ip="10.1.1.1", user__name="svc")
    assert (later.status, later.muted_by) == ("closed", mute)  # stored, not lost
    assert AuditEntry.objects.filter(action="alert.mute", object_id=str(mute.pk)).exists()

    client.post(f"/alerts/mutes/{mute.pk}/lift/")
    after = raise_alert(team_a, "noisy", "low", source__ip="10.1.1.1", user__name="svc")
    assert after.status == "open"


def test_bulk_acknowledge_and_close_only_touch_visible_alerts(analyst_a, team_a, team_b):
    mine = [raise_alert(team_a, f"a{i}") for i in range(3)]
    theirs = raise_alert(team_b, "b")
    client = browser_for(analyst_a)
    ids = [str(a.pk) for a in mine[:2]] + [str(theirs.pk)]
    client.post("/alerts/bulk/", {"action": "acknowledge", "ids": ids})
    status = dict(Alert.objects.values_list("pk", "status"))
    assert [status[a.pk] for a in mine] == ["acknowledged", "acknowledged", "open"]
    assert status[theirs.pk] == "open"

    refused = client.post("/alerts/bulk/", {"action": "close", "ids": ids}, follow=True)
    assert "Closing needs a reason" in refused.content.decode()
    client.post("/alerts/bulk/", {"action": "close", "close_reason": "duplicate", "ids": ids})
    assert Alert.objects.filter(status="closed").count() == 2


def test_bulk_escalation_makes_one_incident_of_the_selected_alerts(analyst_a, team_a):
    alerts = [
        raise_alert(team_a, "low one", "low"),
        raise_alert(team_a, "critical one", "critical"),
    ]
    response = browser_for(analyst_a).post(
        "/alerts/bulk/", {"action": "escalate", "ids": [str(a.pk) for a in alerts]}
    )
    incident = Alert.objects.get(pk=alerts[0].pk).incident
    assert incident is not None and response.url == f"/incidents/{incident.number}/"
    assert incident.title == "critical one" and incident.priority == "critical"
    assert set(incident.alerts.values_list("status", flat=True)) == {"in_progress"}


def test_saved_views_are_personal_unless_shared(analyst_a, manager, team_a):
    client = browser_for(analyst_a)
    client.post("/alerts/views/", {"name": "criticals", "query": "severity=critical"})
    client.post("/alerts/views/", {"name": "mine", "query": "assignee=me", "shared": "1"})
    assert set(SavedView.objects.values_list("name", "shared")) == {
        ("criticals", False),
        ("mine", True),
    }
    theirs = browser_for(manager).get("/alerts/").content.decode()
    assert "?assignee=me" in theirs and "?severity=critical" not in theirs


def test_catch_up_returns_changed_rows_and_drops_rows_that_left_the_filter(analyst_a, team_a):
    before = (timezone.now() - timedelta(seconds=1)).isoformat()
    new = raise_alert(team_a, "new since")
    closed = raise_alert(team_a, "closed since")
    client = browser_for(analyst_a)
    client.post(f"/alerts/{closed.pk}/close/", {"close_reason": "false_positive"})

    response = client.get("/alerts/rows/", {"status": "open", "changed_since": before})
    html = response.content.decode()
    assert f'data-id="{new.pk}"' in html and f'data-remove="{closed.pk}"' in html
    assert _rows(html) == 1 and response["X-Cursor"]


def test_alert_detail_shows_why_it_fired_related_alerts_and_escapes_everything(analyst_a, team_a):
    evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    alert = raise_alert(team_a, evil, source__ip="203.0.113.9", user__name=evil)
    related = raise_alert(team_a, "same address", source__ip="203.0.113.9")
    raise_alert(team_a, "unrelated", source__ip="203.0.113.10")
    html = browser_for(analyst_a).get(f"/alerts/{alert.pk}/").content.decode()
    assert "<script>alert(2)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert f"/alerts/{related.pk}/" in html and "unrelated" not in html
