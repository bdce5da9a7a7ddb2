"""Scanner reports as findings: Nessus v2 and OpenVAS/Greenbone XML and CSV through the
API and the command, hostile XML refused, bounds counted, re-imports idempotent, the
fixed rule, and who may read and import (docs/ASSETS.md, "Vulnerabilities")."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from assets.index import inventory_changed
from assets.models import VulnerabilityFinding
from assets.vulns.base import Limits, ReportRefused
from assets.vulns.store import vulns_import
from socapp.models import AuditEntry
from tests.assets.vuln_reports import LOG4SHELL, OPENSSH, Item, nessus, openvas
from tests.conftest import client_for
from tests.factories import AssetFactory

URL = "/api/v1/vulnerabilities/"
IMPORT = "/api/v1/vulnerabilities/import/"
DAY = 86_400


@pytest.fixture
def hosts(team_a, team_b):
    db = AssetFactory(name="db-01", ip_addresses=["10.20.0.5"], team=team_a)
    web = AssetFactory(
        name="web-01", ip_addresses=["10.20.0.6"], hostnames=["web-01.corp"], team=team_b
    )
    inventory_changed()
    return db, web


def _post(user, body: bytes, fmt: str):
    return client_for(user).post(
        f"{IMPORT}?format={fmt}", body, content_type="application/octet-stream"
    )


def test_a_nessus_report_imports_one_finding_per_cve_on_the_inventorys_asset(manager, hosts):
    db, _ = hosts
    report = nessus(
        {
            "10.20.0.5": [LOG4SHELL, Item("10287", "Traceroute", severity=0)],
            "10.99.0.1": [LOG4SHELL],
        }
    )
    response = _post(manager, report, "nessus")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["skipped"], body["informational"]) == (2, 1, 1)
    assert body["reasons"] == [
        {"where": "host 10.99.0.1", "reason": "not in the inventory (1 finding skipped)"}
    ]
    found = {f.cve: f for f in VulnerabilityFinding.objects.filter(asset=db)}
    log4j = found["CVE-2021-44228"]
    assert set(found) == {"CVE-2021-44228", "CVE-2021-45046"}
    assert (log4j.port, log4j.protocol, log4j.plugin_id, log4j.scanner) == (
        8080,
        "tcp",
        "156014",
        "nessus",
    )
    assert log4j.cvss_score == Decimal("10.0") and log4j.severity == "critical"
    assert log4j.cvss_vector.startswith("CVSS:3.0/AV:N") and "2.14.1" in log4j.evidence
    assert log4j.status == "open" and log4j.first_seen.timestamp() == 1_700_000_000
    assert AuditEntry.objects.get(action="vulnerability.import").actor == manager


def test_an_openvas_report_imports_by_nvt_with_its_cve_refs(integration, hosts):
    db, _ = hosts
    response = _post(integration, openvas({"10.20.0.5": [OPENSSH]}), "openvas")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    finding = VulnerabilityFinding.objects.get(asset=db)
    assert (finding.cve, finding.plugin_id, finding.port) == (
        "CVE-2023-38408",
        "1.3.6.1.4.1.25623.1.0.99999",
        22,
    )
    assert finding.cvss_score == Decimal("9.8") and finding.scanner == "openvas"


def test_an_integration_reports_only_on_its_teams_assets(integration, manager, hosts):
    """An integration of team A: team B's host is skipped with the reason, and its full
    scan neither records nor closes anything there; a manager's report reaches both."""
    db, web = hosts
    t0 = 1_700_000_000
    _post(manager, nessus({"10.20.0.6": [LOG4SHELL]}, ended=t0), "nessus")
    both = {"10.20.0.5": [OPENSSH], "10.20.0.6": [OPENSSH]}
    body = _post(integration, nessus(both, ended=t0 + DAY), "nessus").json()
    assert (body["created"], body["fixed"], body["skipped"]) == (1, 0, 1)
    assert body["reasons"] == [
        {"where": "host 10.20.0.6", "reason": "another team's asset (1 finding skipped)"}
    ]
    assert VulnerabilityFinding.objects.filter(asset=db).count() == 1
    on_web = VulnerabilityFinding.objects.filter(asset=web)
    assert sorted(on_web.values_list("status", flat=True)) == ["open", "open"]  # log4j's two
    # the same report from a manager fixes team B's log4j findings and records OpenSSH
    again = _post(manager, nessus(both, ended=t0 + DAY), "nessus").json()
    assert (again["created"], again["fixed"], again["skipped"]) == (1, 2, 0)


def test_a_reimport_updates_last_seen_and_never_duplicates(manager, hosts):
    first = _post(manager, nessus({"10.20.0.5": [LOG4SHELL]}), "nessus").json()
    again = _post(manager, nessus({"10.20.0.5": [LOG4SHELL]}), "nessus").json()
    later = _post(manager, nessus({"10.20.0.5": [LOG4SHELL]}, ended=1_700_000_000 + DAY), "nessus")
    assert first["created"] == 2
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert (later.json()["created"], later.json()["unchanged"]) == (0, 2)
    assert VulnerabilityFinding.objects.count() == 2
    finding = VulnerabilityFinding.objects.get(cve="CVE-2021-44228")
    assert finding.first_seen.timestamp() == 1_700_000_000
    assert finding.last_seen.timestamp() == 1_700_000_000 + DAY


def test_a_newer_full_scan_without_the_finding_marks_it_fixed_and_an_older_one_does_not(
    manager, hosts
):
    db, web = hosts
    t0 = 1_700_000_000
    _post(manager, nessus({"10.20.0.5": [LOG4SHELL]}, ended=t0), "nessus")
    _post(manager, nessus({"10.20.0.6": [LOG4SHELL]}, ended=t0), "nessus")
    older = _post(manager, nessus({"10.20.0.5": [OPENSSH]}, ended=t0 - DAY), "nessus").json()
    assert older["fixed"] == 0
    newer = _post(manager, nessus({"10.20.0.5": [OPENSSH]}, ended=t0 + DAY), "nessus").json()
    assert newer["fixed"] == 2  # both CVEs of the log4j plugin; web-01 was not scanned
    log4j = VulnerabilityFinding.objects.get(asset=db, cve="CVE-2021-44228")
    assert log4j.status == "fixed" and log4j.fixed_at.timestamp() == t0 + DAY
    assert VulnerabilityFinding.objects.get(asset=web, cve="CVE-2021-44228").status == "open"
    # Another scanner's report says nothing about Nessus's findings.
    _post(manager, openvas({"10.20.0.6": [OPENSSH]}, ended="2030-01-01T00:00:00Z"), "openvas")
    assert VulnerabilityFinding.objects.get(asset=web, cve="CVE-2021-44228").status == "open"
    # Seen again by a later scan: open again.
    back = _post(manager, nessus({"10.20.0.5": [LOG4SHELL]}, ended=t0 + 2 * DAY), "nessus")
    assert back.json()["updated"] == 2
    assert VulnerabilityFinding.objects.get(asset=db, cve="CVE-2021-44228").status == "open"


def test_an_older_report_imported_after_a_newer_one_changes_nothing_the_newer_one_said(
    manager, hosts
):
    t0 = 1_700_000_000
    _post(manager, nessus({"10.20.0.5": [LOG4SHELL]}, ended=t0), "nessus")
    _post(manager, nessus({"10.20.0.5": [OPENSSH]}, ended=t0 + 2 * DAY), "nessus")
    weak_tls = Item("42873", "Weak TLS ciphers", port=443, cves=["CVE-2016-2183"], cvss="7.5")
    late = _post(
        manager, nessus({"10.20.0.5": [LOG4SHELL, weak_tls]}, ended=t0 + DAY), "nessus"
    ).json()
    assert (late["updated"], late["fixed"]) == (0, 0)
    log4j = VulnerabilityFinding.objects.get(cve="CVE-2021-44228")
    assert log4j.status == "fixed" and log4j.fixed_at.timestamp() == t0 + 2 * DAY
    assert log4j.last_seen.timestamp() == t0
    # What only the older report saw, the newer scan of the host did not: fixed by then.
    tls = VulnerabilityFinding.objects.get(cve="CVE-2016-2183")
    assert tls.status == "fixed" and tls.fixed_at.timestamp() == t0 + 2 * DAY
    # And the older report does not close what the newer one found.
    assert VulnerabilityFinding.objects.get(cve="CVE-2023-38408").status == "open"
    # In order, a newer scan that reports it again opens it again.
    _post(manager, nessus({"10.20.0.5": [LOG4SHELL]}, ended=t0 + 3 * DAY), "nessus")
    log4j.refresh_from_db()
    assert log4j.status == "open" and log4j.last_seen.timestamp() == t0 + 3 * DAY


def test_a_report_without_an_end_time_is_dated_by_its_start(hosts, tmp_path):
    newer, older = tmp_path / "newer.nessus", tmp_path / "older.nessus"
    newer.write_bytes(nessus({"10.20.0.5": [OPENSSH]}, ended=1_700_000_000))
    older.write_bytes(
        nessus({"10.20.0.5": [LOG4SHELL]}, ended=None, started="Mon Nov 13 10:00:00 2023")
    )
    call_command("vulns_import", str(newer), stdout=io.StringIO())
    call_command("vulns_import", str(older), stdout=io.StringIO())
    log4j = VulnerabilityFinding.objects.get(cve="CVE-2021-44228")
    assert log4j.status == "fixed" and log4j.fixed_at.timestamp() == 1_700_000_000
    assert log4j.last_seen.isoformat() == "2023-11-13T10:00:00+00:00"


def test_csv_rows_import_with_line_numbered_reasons_and_may_mark_fixed(manager, hosts):
    csv = (
        "host,cve,cvss,port,plugin,name\n"
        "10.20.0.5,CVE-2021-44228,10.0,8080/tcp,156014,Log4Shell\n"
        "web-01.corp,CVE-2023-38408;CVE-2023-99999,9.8,22,,OpenSSH\n"
        "10.20.0.5,not-a-cve,5,80,,x\n"
        "10.20.0.5,CVE-2020-0001,11,80,,x\n"
        "unknown.example,CVE-2020-0002,5,80,,x\n"
    )
    body = (
        client_for(manager)
        .post(IMPORT, {"file": io.BytesIO(csv.encode()), "format": "csv"}, format="multipart")
        .json()
    )
    assert (body["created"], body["skipped"]) == (3, 3), body
    reasons = {r["where"]: r["reason"] for r in body["reasons"]}
    assert "CVE-YYYY-NNNN" in reasons["line 4"] and "0 to 10" in reasons["line 5"]
    assert "not in the inventory" in reasons["host unknown.example"]
    fixed = (
        client_for(manager)
        .post(
            f"{IMPORT}?format=csv",
            b"host,cve,port,plugin,status\n10.20.0.5,CVE-2021-44228,8080/tcp,156014,fixed\n",
            content_type="text/csv",
        )
        .json()
    )
    assert fixed["fixed"] == 1
    assert VulnerabilityFinding.objects.get(cve="CVE-2021-44228").status == "fixed"
    # A CSV is not a scan: what it leaves out stays open.
    assert VulnerabilityFinding.objects.filter(status="open").count() == 2


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<NessusClientData_v2><Report><ReportHost name="&lol3;"/></Report></NessusClientData_v2>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<report><results><result><host>&x;</host></result></results></report>"""


@pytest.mark.parametrize(("body", "fmt"), [(BILLION_LAUGHS, "nessus"), (XXE, "openvas")])
def test_dtds_and_entities_are_refused_before_any_expansion(manager, hosts, body, fmt):
    response = _post(manager, body, fmt)
    assert response.status_code == 400
    assert "DTDs, entities and external references are refused" in response.json()["detail"]
    assert not VulnerabilityFinding.objects.exists()


def test_bounds_on_elements_depth_and_bytes_are_counted_while_reading(hosts):
    many = b"<NessusClientData_v2>" + b"<x/>" * 10_000 + b"</NessusClientData_v2>"
    with pytest.raises(ReportRefused, match="refused after 101") as refused:
        vulns_import(actor=None, content=many, fmt="nessus", limits=Limits(max_elements=100))
    assert refused.value.status == 413
    deep = b"<a>" * 40 + b"</a>" * 40
    with pytest.raises(ReportRefused, match="deeper than 16"):
        vulns_import(actor=None, content=deep, fmt="openvas")
    with pytest.raises(ReportRefused, match="larger than 1,000 bytes"):
        vulns_import(actor=None, content=b" " * 1001, fmt="csv", limits=Limits(max_bytes=1000))
    report = nessus(
        {"10.20.0.5": [Item(str(n), "x", cves=[f"CVE-2020-{n:04d}"]) for n in range(11)]}
    )
    with pytest.raises(ReportRefused, match="More than 10 findings"):
        vulns_import(actor=None, content=report, fmt="nessus", limits=Limits(max_observations=10))
    assert not VulnerabilityFinding.objects.exists()


def test_not_a_report_unknown_format_and_oversized_body_answer_4xx(manager, hosts, monkeypatch):
    assert _post(manager, b"<html/>", "nessus").status_code == 400
    assert _post(manager, b"<a><b></a>", "openvas").status_code == 400
    assert _post(manager, b"x", "pdf").status_code == 400
    monkeypatch.setattr("assets.api.vulns.MAX_BYTES", 100)
    assert _post(manager, b"x" * 101, "csv").status_code == 413


def test_who_reads_and_who_imports(analyst_a, analyst_b, auditor, nobody, manager, hosts):
    _post(manager, nessus({"10.20.0.5": [LOG4SHELL], "10.20.0.6": [LOG4SHELL]}), "nessus")
    seen_a = {f["asset_name"] for f in client_for(analyst_a).get(URL).json()["results"]}
    seen_b = {f["asset_name"] for f in client_for(analyst_b).get(URL).json()["results"]}
    assert seen_a == {"db-01"} and seen_b == {"web-01"}
    assert len(client_for(auditor).get(URL).json()["results"]) == 4
    assert client_for(nobody).get(URL).status_code == 403
    for user in (analyst_a, auditor, nobody):
        assert _post(user, nessus({"10.20.0.5": [OPENSSH]}), "nessus").status_code == 403
    filtered = client_for(manager).get(
        URL, {"cve": "cve-2021-44228", "cvss_min": 9, "status": "open"}
    )
    assert len(filtered.json()["results"]) == 2


def test_the_management_command_imports_by_suffix(hosts, tmp_path):
    path = tmp_path / "weekly.nessus"
    path.write_bytes(nessus({"10.20.0.5": [LOG4SHELL]}))
    out = io.StringIO()
    call_command("vulns_import", str(path), stdout=out)
    assert '"created": 2' in out.getvalue()
    assert VulnerabilityFinding.objects.filter(asset__name="db-01").count() == 2
