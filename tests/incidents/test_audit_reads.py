"""Reads of alerts, incidents, evidence and reports are audited: who read what, from
where, with what; one entry per request, lists by their first ids and their count."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from incidents.services import evidence_add, incident_create
from socapp.audit import audit_verify
from socapp.models import AuditEntry
from tests.conftest import client_for

from .conftest import raise_alert

pytestmark = pytest.mark.django_db

AGENT = "Mozilla/5.0 (reads test)"
WHERE = {"HTTP_USER_AGENT": AGENT, "REMOTE_ADDR": "192.0.2.44"}


def page_for(user) -> Client:
    client = Client(HTTP_USER_AGENT=AGENT, REMOTE_ADDR="192.0.2.44")
    client.force_login(user)
    return client


def api_for(user):
    client = client_for(user)
    client.defaults.update(WHERE)
    return client


def one_entry_for(client, url: str, status: int = 200) -> AuditEntry:
    """GET url; the one audit entry it wrote."""
    before = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    response = client.get(url)
    assert response.status_code == status, response.content[:300]
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    (entry,) = AuditEntry.objects.filter(seq__gt=before)
    assert (entry.remote_addr, entry.user_agent, entry.result) == ("192.0.2.44", AGENT, "allowed")
    return entry


def test_alert_reads_on_the_api_and_pages(analyst_a, team_a):
    alerts = [raise_alert(team_a, f"scan {n}", source__ip=f"198.51.100.{n}") for n in range(3)]
    api, page = api_for(analyst_a), page_for(analyst_a)

    listed = one_entry_for(api, "/api/v1/alerts/")
    assert (listed.action, listed.actor) == ("alert.list", analyst_a)
    assert sorted(listed.changes["alerts"]["ids"]) == sorted(str(a.pk) for a in alerts)
    assert listed.changes["alerts"]["count"] == 3

    read = one_entry_for(api, f"/api/v1/alerts/{alerts[0].pk}/")
    assert (read.action, read.object_type, read.object_id) == (
        "alert.read",
        "incidents.alert",
        str(alerts[0].pk),
    )
    part = one_entry_for(api, f"/api/v1/alerts/{alerts[1].pk}/comments/")
    assert (part.action, part.object_id, part.changes) == (
        "alert.read",
        str(alerts[1].pk),
        {"part": "comments"},
    )
    queue = one_entry_for(page, "/alerts/")
    assert queue.action == "alert.list" and queue.changes["alerts"]["count"] == 3
    detail = one_entry_for(page, f"/alerts/{alerts[2].pk}/")
    assert (detail.action, detail.object_id) == ("alert.read", str(alerts[2].pk))
    assert audit_verify() == []


def test_a_long_list_keeps_the_first_fifty_ids_and_the_count(manager, team_a):
    for n in range(60):
        raise_alert(team_a, f"alert {n}", source__ip=f"203.0.113.{n}")
    entry = one_entry_for(api_for(manager), "/api/v1/alerts/?page_size=60")
    assert entry.changes["alerts"]["count"] == 60
    assert len(entry.changes["alerts"]["ids"]) == 50


def test_nothing_shown_nothing_written(analyst_b, team_a):
    raise_alert(team_a, "team A's")  # invisible to analyst_b
    before = AuditEntry.objects.count()
    assert api_for(analyst_b).get("/api/v1/alerts/").json()["count"] == 0
    assert AuditEntry.objects.count() == before


def test_incident_reads_on_the_api_and_pages(analyst_a, team_a):
    incident = incident_create(actor=analyst_a, title="case", team=team_a)
    api, page = api_for(analyst_a), page_for(analyst_a)
    listed = one_entry_for(api, "/api/v1/incidents/")
    assert listed.changes["incidents"] == {"ids": [str(incident.pk)], "count": 1}
    read = one_entry_for(api, f"/api/v1/incidents/{incident.pk}/timeline/")
    assert (read.action, read.object_id, read.changes) == (
        "incident.read",
        str(incident.pk),
        {"part": "timeline"},
    )
    assert one_entry_for(page, "/incidents/").action == "incident.list"
    detail = one_entry_for(page, f"/incidents/{incident.number}/")
    assert (detail.action, detail.object_id) == ("incident.read", str(incident.pk))
    home = one_entry_for(page, "/")
    assert home.action == "home.read" and home.changes["incidents"]["ids"] == [str(incident.pk)]


def test_downloads_are_one_entry_each_with_where_from(analyst_a, team_a, settings, tmp_path):
    settings.EVIDENCE_ROOT = tmp_path
    incident = incident_create(actor=analyst_a, title="case", team=team_a)
    evidence = evidence_add(
        incident=incident,
        actor=analyst_a,
        name="capture.pcap",
        content=SimpleUploadedFile("capture.pcap", b"\xd4\xc3\xb2\xa1"),
    )
    api, page = api_for(analyst_a), page_for(analyst_a)
    on_page = one_entry_for(page, f"/incidents/{incident.number}/evidence/{evidence.pk}/")
    assert on_page.action == "incident.evidence_download"
    assert on_page.changes["evidence"] == "capture.pcap"
    over_api = one_entry_for(api, f"/api/v1/incidents/{incident.pk}/evidence/{evidence.pk}/")
    assert over_api.action == "incident.evidence_download"
    report = one_entry_for(page, f"/incidents/{incident.number}/report.csv")
    assert report.action == "report.incident_download"
    summary = one_entry_for(api, "/api/v1/reports/summary/?as=csv")
    assert summary.action == "report.summary_download"


def test_reads_can_be_turned_off(analyst_a, team_a, settings):
    settings.AUDIT_READS = False
    raise_alert(team_a, "scan")
    before = AuditEntry.objects.count()
    assert api_for(analyst_a).get("/api/v1/alerts/").status_code == 200
    assert AuditEntry.objects.count() == before


def test_staff_reading_alerts_incidents_and_evidence_in_the_admin_are_audited(
    auditor, analyst_a, team_a
):
    alert = raise_alert(team_a, "beacon", source__ip="198.51.100.9")
    incident = incident_create(actor=analyst_a, title="Beaconing", team=team_a, alerts=[alert])
    evidence = evidence_add(
        incident=incident,
        actor=analyst_a,
        name="capture.pcap",
        content=SimpleUploadedFile("capture.pcap", b"pcap"),
    )
    admin = page_for(auditor)
    listed = one_entry_for(admin, "/admin/incidents/alert/")
    assert (listed.action, listed.actor) == ("alert.list", auditor)
    assert listed.changes["alerts"]["ids"] == [str(alert.pk)]
    read = one_entry_for(admin, f"/admin/incidents/incident/{incident.pk}/change/")
    assert (read.action, read.object_id, read.changes) == (
        "incident.read",
        str(incident.pk),
        {"via": "admin"},
    )
    shown = one_entry_for(admin, f"/admin/incidents/evidence/{evidence.pk}/change/")
    assert (shown.action, shown.object_id) == ("evidence.read", str(evidence.pk))
    assert audit_verify() == []
