"""Rules over the API: Sigma in, validated at the line, versioned, enabled and disabled,
tried on a pasted event; alerts out, filterable by rule and source."""

from __future__ import annotations

import pytest

from correlation.models import CorrelationRule
from events.ingest import events_ingest
from events.parsers import RawRecord
from incidents.models import Alert
from tests.conftest import client_for
from tests.factories import SourceFactory

RULE = """title: Suspicious whoami
id: 5a2c5d9e-0f6b-4c43-9d8e-3c3f7f1f0a11
status: test
level: high
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\\\\whoami.exe'
  condition: selection
"""
EVENT = {
    "EventID": 1,
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "Image": "C:\\\\Windows\\\\System32\\\\whoami.exe",
}
RULES = "/api/v1/rules/"


@pytest.mark.django_db
def test_an_admin_creates_a_rule_from_sigma(soc_admin) -> None:
    response = client_for(soc_admin).post(RULES, {"definition": RULE}, format="json")
    assert response.status_code == 201, response.data
    body = response.data
    assert (body["name"], body["level"], body["version"]) == ("Suspicious whoami", "high", 1)
    assert body["techniques"] == ["T1033"] and body["is_active"] is True
    assert body["sigma_id"] == "5a2c5d9e-0f6b-4c43-9d8e-3c3f7f1f0a11"


@pytest.mark.django_db
def test_an_invalid_rule_is_refused_with_its_line(soc_admin) -> None:
    broken = RULE.replace("Image|endswith", "Image|endwith")
    response = client_for(soc_admin).post(RULES, {"definition": broken}, format="json")
    assert response.status_code == 400
    assert response.data["problems"][0]["line"] == 9
    assert "endwith" in response.data["problems"][0]["message"]
    assert not CorrelationRule.objects.exists()


@pytest.mark.django_db
def test_a_correlation_naming_a_missing_rule_is_refused(soc_admin) -> None:
    text = (
        "title: c\nlevel: high\ncorrelation:\n  type: event_count\n  rules:\n    - nowhere\n"
        "  group-by: [user.name]\n  timespan: 5m\n  condition: {gte: 3}\n"
    )
    response = client_for(soc_admin).post(RULES, {"definition": text}, format="json")
    assert response.status_code == 400
    assert response.data["problems"][0]["line"] == 5
    assert "nowhere" in response.data["problems"][0]["message"]


@pytest.mark.django_db
def test_editing_makes_a_new_version_and_keeps_the_old(soc_admin) -> None:
    client = client_for(soc_admin)
    rule_id = client.post(RULES, {"definition": RULE}, format="json").data["id"]
    edited = RULE.replace("level: high", "level: critical")
    response = client.patch(f"{RULES}{rule_id}/", {"definition": edited}, format="json")
    assert response.status_code == 200 and response.data["version"] == 2
    versions = client.get(f"{RULES}{rule_id}/versions/").data
    assert [v["version"] for v in versions] == [2, 1]
    assert "level: high" in versions[1]["definition"]


@pytest.mark.django_db
def test_rules_are_enabled_and_disabled(soc_admin) -> None:
    client = client_for(soc_admin)
    rule_id = client.post(RULES, {"definition": RULE}, format="json").data["id"]
    assert client.post(f"{RULES}{rule_id}/disable/").data["is_active"] is False
    assert client.post(f"{RULES}{rule_id}/enable/").data["is_active"] is True


@pytest.mark.django_db
def test_analysts_read_and_test_rules_but_do_not_write_them(analyst_a) -> None:
    client = client_for(analyst_a)
    assert client.get(RULES).status_code == 200
    assert client.post(RULES, {"definition": RULE}, format="json").status_code == 403
    tried = client.post(f"{RULES}test/", {"definition": RULE, "event": EVENT}, format="json")
    assert tried.status_code == 200
    assert tried.data == {"matched": True, "logsource_fits": True, "detection_matches": True}
    other = {**EVENT, "EventID": 3}
    tried = client.post(f"{RULES}test/", {"definition": RULE, "event": other}, format="json")
    assert tried.data["matched"] is False and tried.data["detection_matches"] is True


@pytest.mark.django_db(transaction=True)
def test_alerts_from_ingested_events_are_filterable_and_show_their_events(
    soc_admin, manager
) -> None:
    client_for(soc_admin).post(RULES, {"definition": RULE}, format="json")
    source = SourceFactory.create(format="windows", name="dc-01")
    record = {
        "Event": {
            "System": {
                "EventID": 1,
                "Channel": EVENT["Channel"],
                "TimeCreated": {"#attributes": {"SystemTime": "2026-11-28T09:00:00Z"}},
                "Computer": "ws1",
                "EventRecordID": 7,
            },
            "EventData": {"Image": "C:\\Windows\\System32\\whoami.exe"},
        }
    }
    for _ in range(2):  # the same event twice: stored once, one alert
        events_ingest(
            source=source, records=[RawRecord(1, record)], transport="api", log_format="windows"
        )
    assert Alert.objects.count() == 1
    reader = client_for(manager)
    url = "/api/v1/alerts/"
    hits = reader.get(url, {"rule": "5a2c5d9e-0f6b-4c43-9d8e-3c3f7f1f0a11", "source": "dc-01"})
    (alert,) = hits.data["results"]
    assert alert["rule"]["title"] == "Suspicious whoami" and alert["count"] == 1
    assert len(alert["events"]) == 1
    assert reader.get(url, {"source": "elsewhere"}).data["results"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("socapp:\n  suppression: sometimes\n", "suppression must be one of"),
        ("socapp:\n  max_jitter: 0.2\n", "max_jitter applies to event_count"),
        ("socapp:\n  colour: blue\n", "unknown socapp setting 'colour'"),
    ],
)
def test_engine_settings_in_the_file_are_checked_at_their_line(soc_admin, block, message):
    response = client_for(soc_admin).post(RULES, {"definition": RULE + block}, format="json")
    assert response.status_code == 400
    (problem,) = response.data["problems"]
    # RULE is ten lines; "socapp:" is line 11 and the offending setting line 12
    assert message in problem["message"] and problem["line"] == 12
