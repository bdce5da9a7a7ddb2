"""The vulnerability pages: the findings list with its filters, the upload form, an
asset's open findings on its page, and the raise's reason on the alert page — every
scanner-supplied text escaped; and the admin's read-only view of findings."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from assets.index import inventory_changed
from assets.models import VulnerabilityFinding
from assets.vulns.store import vulns_import
from incidents.models import Severity
from incidents.services import alert_create
from socapp.models import AuditEntry
from tests.assets.vuln_reports import LOG4SHELL, Item, nessus
from tests.factories import AssetFactory, CorrelationRuleFactory

pytestmark = pytest.mark.django_db
PAYLOAD = "<script>alert(1)</script>"


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def findings(team_a, team_b):
    AssetFactory(name="db-01", ip_addresses=["10.20.0.5"], team=team_a)
    AssetFactory(name="web-01", ip_addresses=["10.20.0.6"], team=team_b)
    inventory_changed()
    hostile = Item("99999", f"Evil {PAYLOAD}", port=443, cves=["CVE-2020-0601"], cvss="8.1")
    vulns_import(
        actor=None,
        content=nessus({"10.20.0.5": [LOG4SHELL, hostile], "10.20.0.6": [LOG4SHELL]}),
        fmt="nessus",
    )


def test_the_list_filters_by_asset_cve_status_and_cvss_and_escapes_plugin_names(
    manager, analyst_b, findings
):
    page = browser(manager).get("/assets/vulnerabilities/", {"asset": "10.20.0.5", "cvss": "9"})
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<td>CVE-2021-4") == 2 and "CVE-2020-0601" not in html
    everything = browser(manager).get("/assets/vulnerabilities/").content.decode()
    assert PAYLOAD not in everything and "Evil &lt;script&gt;" in everything
    by_cve = browser(manager).get("/assets/vulnerabilities/", {"cve": "cve-2020-0601"})
    assert "Evil" in by_cve.content.decode() and "Log4Shell" not in by_cve.content.decode()
    fixed = browser(manager).get("/assets/vulnerabilities/", {"status": "fixed", "cvss": "x"})
    assert "No finding matches" in fixed.content.decode()
    theirs = browser(analyst_b).get("/assets/vulnerabilities/").content.decode()
    assert "web-01" in theirs and "db-01" not in theirs


def test_the_asset_page_lists_its_open_findings(manager, findings):
    db = VulnerabilityFinding.objects.filter(asset__name="db-01").first().asset
    html = browser(manager).get(f"/assets/{db.pk}/").content.decode()
    assert 'id="asset-findings"' in html and "CVE-2021-44228" in html and "8080/tcp" in html
    assert PAYLOAD not in html and "Evil &lt;script&gt;" in html


def test_the_upload_form_imports_and_shows_counts_and_refuses_hostile_xml(
    manager, analyst_a, findings
):
    assert browser(analyst_a).get("/assets/vulnerabilities/import/").status_code == 403
    client = browser(manager)
    upload = io.BytesIO(nessus({"10.20.0.5": [LOG4SHELL], "10.7.7.7": [LOG4SHELL]}))
    upload.name = "weekly.nessus"
    page = client.post("/assets/vulnerabilities/import/", {"format": "nessus", "file": upload})
    html = page.content.decode()
    assert page.status_code == 200 and 'id="import-result"' in html
    assert "unchanged 2" in html and "host 10.7.7.7" in html
    hostile = io.BytesIO(b'<!DOCTYPE x [<!ENTITY a "b">]><NessusClientData_v2/>')
    hostile.name = "evil.nessus"
    refused = client.post("/assets/vulnerabilities/import/", {"format": "nessus", "file": hostile})
    assert "DTDs, entities and external references are refused" in refused.content.decode()


def test_the_alert_page_says_why_the_severity_was_raised(manager, team_a, findings):
    """A rule tagged ``cve.2021-44228`` raising an alert about db-01 (alert_create goes
    through the same sequence as the engine)."""
    rule = CorrelationRuleFactory(tags=["attack.initial_access", "cve.2021-44228"])
    alert = alert_create(
        title="Log4Shell attempt",
        severity=Severity.objects.get(name="medium"),
        team=team_a,
        rule=rule,
        details={"entities": {"destination.ip": "10.20.0.5"}},
    )
    assert alert.severity.name == "high"
    html = browser(manager).get(f"/alerts/{alert.pk}/").content.decode()
    assert 'id="severity-raised"' in html
    assert (
        "db-01 has open finding CVE-2021-44228 (CVSS 10.0, Nessus plugin 156014, port 8080)" in html
    )


def test_the_admin_shows_findings_read_only_and_an_assets_delete_takes_them(
    soc_admin, auditor, team_a
):
    asset = AssetFactory(name="db-01", ip_addresses=["10.20.0.5"], team=team_a)
    inventory_changed()
    vulns_import(actor=None, content=nessus({"10.20.0.5": [LOG4SHELL]}), fmt="nessus")
    finding = VulnerabilityFinding.objects.get(cve="CVE-2021-44228")
    for user in (soc_admin, auditor):
        client = browser(user)
        listed = client.get("/admin/assets/vulnerabilityfinding/").content.decode()
        assert "CVE-2021-44228" in listed
        change = f"/admin/assets/vulnerabilityfinding/{finding.pk}/change/"
        shown = client.get(change).content.decode()
        assert "Log4Shell" in shown and 'name="_save"' not in shown
        assert client.post(change, {"status": "fixed"}).status_code == 403
    finding.refresh_from_db()
    assert finding.status == "open"
    deleted = browser(soc_admin).post(f"/admin/assets/asset/{asset.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not VulnerabilityFinding.objects.exists()
    assert AuditEntry.objects.filter(action="admin.delete").count() == 1
