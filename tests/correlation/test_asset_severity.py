"""Criticality raises severity (docs/ASSETS.md): the pack's SSH brute force, run by the
real engine over stored events, is raised two levels against a critical host and left
as the rule says against a host the inventory does not know; the alert says why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from assets.index import inventory_changed
from correlation.services import batch_correlate
from events.ingest import events_ingest
from events.parsers import RawRecord
from incidents.models import Alert
from tests.correlation.test_rule_pack import failed
from tests.factories import AssetFactory, SourceFactory

ATTACKERS = {"crown-jewel": "198.51.100.21", "unknown-box": "198.51.100.22"}


def brute_force_against(host: str, start) -> Alert:
    ip = ATTACKERS[host]
    lines = [failed(start + timedelta(seconds=n), ip=ip, host=host) for n in range(12)]
    result = events_ingest(
        source=SourceFactory.create(format="syslog"),
        records=[RawRecord(n, line) for n, line in enumerate(lines, 1)],
        transport="api",
    )
    batch_correlate(batch_id=result.batch_id)
    return Alert.objects.select_related("severity").get(
        rule__sigma_name="socapp_ssh_brute_force", group_key=f"source.ip={ip}"
    )


@pytest.mark.django_db
def test_a_brute_force_on_a_critical_host_is_raised_above_the_same_on_an_unknown_one(pack):
    crown = AssetFactory(
        name="crown-jewel", hostnames=["crown-jewel"], criticality="critical", owner="dba team"
    )
    inventory_changed()
    start = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)

    unknown = brute_force_against("unknown-box", start)
    critical = brute_force_against("crown-jewel", start)

    assert unknown.severity.name == unknown.rule.level
    assert critical.severity.level > unknown.severity.level
    assert critical.severity.level == min(5, unknown.severity.level + 2)
    assert "severity_raised" not in unknown.details and "assets" not in unknown.details
    raised = critical.details["severity_raised"]
    assert raised["from"] == unknown.severity.name and raised["to"] == critical.severity.name
    assert raised["asset"] == "crown-jewel" and raised["criticality"] == "critical"
    assert critical.details["assets"][0]["id"] == str(crown.pk)
    assert f"asset:{crown.pk}" in critical.entities


@pytest.mark.django_db
def test_medium_and_low_assets_leave_the_rules_severity(pack):
    AssetFactory(name="unknown-box", hostnames=["unknown-box"], criticality="low")
    inventory_changed()
    start = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    alert = brute_force_against("unknown-box", start)
    assert alert.details["assets"][0]["criticality"] == "low"
    assert "severity_raised" not in alert.details
    assert alert.severity.name == alert.rule.level
