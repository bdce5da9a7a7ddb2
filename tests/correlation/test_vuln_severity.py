"""Cross-correlation (docs/ASSETS.md, "Vulnerabilities"): a Suricata alert whose rule
names a CVE, run by the real engine over stored EVE events, is raised against the asset
with an open Nessus finding for that CVE, and left as the rule says against the asset
whose finding a newer scan marked fixed; the alert says why. A Sigma rule tagged with
the CVE does the same for an alert whose events name none. A Snort alert whose message
names the CVE does the same through the default pack's ``socapp_ids_cve_alert``."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from assets.index import inventory_changed
from assets.vulns.store import vulns_import
from correlation.services import batch_correlate
from correlation.services.importing import RULE_PACK, import_rules
from events.ingest import events_ingest
from events.parsers import RawRecord
from incidents.models import Alert
from tests.assets.vuln_reports import LOG4SHELL, OPENSSH, nessus
from tests.factories import AssetFactory, SourceFactory

RULE = """
title: IDS alert{suffix}
id: {uuid}
status: test
logsource:
  product: suricata
  service: alert
detection:
  selection:
    event.kind: alert
    rule.id: '{sid}'
  condition: selection
level: medium
tags:
{tags}
"""
VULNERABLE, PATCHED = "10.30.0.5", "10.30.0.6"
T0 = 1_700_000_000


def eve(at, dest: str, sid: int, metadata: dict | None = None) -> str:
    alert = {
        "action": "allowed",
        "gid": 1,
        "signature_id": sid,
        "rev": 3,
        "signature": "ET EXPLOIT Apache log4j RCE Attempt - lower/upper",
        "category": "Attempted Administrator Privilege Gain",
        "severity": 1,
    }
    if metadata:
        alert["metadata"] = metadata
    return json.dumps(
        {
            "timestamp": at.isoformat(),
            "flow_id": sid * 1000 + int(dest.rsplit(".", 1)[1]),
            "event_type": "alert",
            "src_ip": "203.0.113.66",
            "src_port": 51515,
            "dest_ip": dest,
            "dest_port": 8080,
            "proto": "TCP",
            "alert": alert,
        }
    )


@pytest.fixture
def rules(reference_data, tmp_path):
    (tmp_path / "ids.yml").write_text(
        RULE.format(
            suffix="",
            uuid="4d6fd8f8-1d5e-4f38-a0a6-2f1d3b2c0a01",
            sid=2034647,
            tags="  - attack.initial_access",
        )
        + "---"
        + RULE.format(
            suffix=" (tagged)",
            uuid="4d6fd8f8-1d5e-4f38-a0a6-2f1d3b2c0a02",
            sid=2034700,
            tags="  - attack.initial_access\n  - cve.2021-44228",
        )
    )
    report = import_rules([tmp_path], actor=None)
    assert not report.errors, report.errors


@pytest.fixture
def inventory(reference_data):
    vulnerable = AssetFactory(name="db-01", ip_addresses=[VULNERABLE], criticality="medium")
    patched = AssetFactory(name="db-02", ip_addresses=[PATCHED], criticality="medium")
    inventory_changed()
    vulns_import(
        actor=None,
        content=nessus({VULNERABLE: [LOG4SHELL], PATCHED: [LOG4SHELL]}, ended=T0),
        fmt="nessus",
    )
    # A newer scan of db-02 no longer finds log4j: patched.
    vulns_import(actor=None, content=nessus({PATCHED: [OPENSSH]}, ended=T0 + 86_400), fmt="nessus")
    return vulnerable, patched


def alerts_for(lines: list[str], log_format: str = "suricata") -> dict[str, Alert]:
    result = events_ingest(
        source=SourceFactory.create(format=log_format),
        records=[RawRecord(n, line) for n, line in enumerate(lines, 1)],
        transport="api",
    )
    assert result.quarantined == 0, result
    batch_correlate(batch_id=result.batch_id)
    alerts = Alert.objects.select_related("severity", "rule").filter(
        rule__name__startswith="IDS alert"
    )
    return {a.details["assets"][0]["name"]: a for a in alerts}


def snort_fast(at, dest: str) -> str:
    """An ``alert_fast`` line of the ET log4j signature: its message names the CVE."""
    return (
        f"{at:%m/%d-%H:%M:%S.%f} [**] [1:2034647:3] ET EXPLOIT Apache log4j RCE Attempt"
        " (CVE-2021-44228) [**] [Classification: Attempted Administrator Privilege Gain]"
        f" [Priority: 1] {{TCP}} 203.0.113.66:51515 -> {dest}:8080"
    )


@pytest.mark.django_db
def test_an_ids_alert_for_a_cve_is_raised_on_the_vulnerable_asset_not_the_patched_one(
    rules, inventory
):
    at = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0)
    cve = {"cve": ["CVE_2021_44228"], "signature_severity": ["Major"]}
    found = alerts_for([eve(at, VULNERABLE, 2034647, cve), eve(at, PATCHED, 2034647, cve)])

    vulnerable, patched = found["db-01"], found["db-02"]
    assert patched.severity.name == "medium" and "severity_raised" not in patched.details
    assert "vulnerabilities" not in patched.details
    assert vulnerable.severity.name == "high"
    raised = vulnerable.details["severity_raised"]
    assert (raised["from"], raised["to"], raised["cve"]) == ("medium", "high", "CVE-2021-44228")
    assert raised["reason"] == (
        "db-01 has open finding CVE-2021-44228 (CVSS 10.0, Nessus plugin 156014, port 8080)"
    )
    assert vulnerable.details["vulnerabilities"][0]["plugin_id"] == "156014"


@pytest.mark.django_db
def test_a_rule_tagged_with_the_cve_raises_after_the_criticality_raise_with_both_reasons(
    rules, inventory
):
    vulnerable, _ = inventory
    vulnerable.criticality = "high"
    vulnerable.save()
    inventory_changed()
    at = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0)
    found = alerts_for([eve(at, VULNERABLE, 2034700), eve(at, PATCHED, 2034700)])

    alert = found["db-01"]
    assert found["db-02"].severity.name == "medium"
    # medium, +1 for a high asset = high, +1 for the open finding = critical
    assert alert.severity.name == "critical"
    raised = alert.details["severity_raised"]
    assert (raised["from"], raised["to"], raised["by"]) == ("medium", "critical", 2)
    assert raised["reasons"][0].startswith("db-01 is a high asset")
    assert raised["reasons"][1].startswith("db-01 has open finding CVE-2021-44228")


@pytest.mark.django_db
def test_a_snort_alert_naming_the_cve_is_raised_on_the_vulnerable_asset_by_the_pack_rule(
    inventory,
):
    report = import_rules([RULE_PACK / "ids.yml"], actor=None, origin_root=RULE_PACK.parent)
    assert report.imported == 1, report
    at = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0)
    found = alerts_for([snort_fast(at, VULNERABLE), snort_fast(at, PATCHED)], "snort")

    vulnerable, patched = found["db-01"], found["db-02"]
    assert vulnerable.rule.sigma_name == "socapp_ids_cve_alert"
    assert patched.severity.name == "medium" and "severity_raised" not in patched.details
    assert vulnerable.severity.name == "high"
    raised = vulnerable.details["severity_raised"]
    assert (raised["from"], raised["to"], raised["cve"]) == ("medium", "high", "CVE-2021-44228")
    assert raised["reason"].startswith("db-01 has open finding CVE-2021-44228 (CVSS 10.0")
