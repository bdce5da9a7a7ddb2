"""The SOC dashboard: /dashboard/ and GET /api/v1/dashboard/, with known data, counted
only over what the reader may see."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from events.services import events_store
from incidents.choices import IncidentStatus
from incidents.entities import alert_entities
from incidents.models import Alert, Incident
from tests.conftest import client_for
from tests.factories import (
    AlertFactory,
    CorrelationRuleFactory,
    IncidentFactory,
    SourceFactory,
    event_record,
    severity,
)

pytestmark = pytest.mark.django_db

SCRIPTY_RULE = '</script><script>alert("rule")</script>'


def _alert(team, level: str, ago: timedelta, details: dict | None = None, **fields) -> Alert:
    details = details or {}
    at = timezone.now() - ago
    return AlertFactory.create(
        team=team,
        severity=severity(level),
        triggered_at=at,
        last_seen_at=at,
        details=details,
        entities=alert_entities(details),
        **fields,
    )


def _bucket_of(data: dict, moment: datetime) -> int:
    starts = [datetime.fromisoformat(b) for b in data["buckets"]]
    width = timedelta(seconds=data["bucket_seconds"])
    return next(i for i, start in enumerate(starts) if start <= moment < start + width)


def _series(data: dict, chart: str) -> dict[str, list[int]]:
    return {s["name"]: s["counts"] for s in data[chart]}


def _get(user, hours: int = 24) -> dict:
    response = client_for(user).get(f"/api/v1/dashboard/?hours={hours}")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def alerts(team_a, team_b):
    """Team A: two high and one critical two hours ago, one low 30 hours ago (outside
    the day, inside the week). Team B: one high two hours ago."""
    rule = CorrelationRuleFactory(name=SCRIPTY_RULE)
    two_hours = timedelta(hours=2)
    return {
        "a_high_1": _alert(
            team_a,
            "high",
            two_hours,
            {"entities": {"source.ip": "203.0.113.7", "user.name": "Alice"}},
            rule=rule,
        ),
        "a_high_2": _alert(
            team_a,
            "high",
            two_hours,
            {"entities": {"source.ip": "203.0.113.7", "destination.ip": "10.0.0.5"}},
            rule=rule,
        ),
        "a_critical": _alert(
            team_a,
            "critical",
            two_hours,
            # A correlation names its fields as the rule did.
            {"group_by": {"SourceIp": "198.51.100.9", "TargetUserName": "alice"}},
        ),
        "a_low_old": _alert(team_a, "low", timedelta(hours=30)),
        "b_high": _alert(
            team_b,
            "high",
            two_hours,
            {"entities": {"source.ip": "192.0.2.66", "user.name": "mallory"}},
            rule=rule,
        ),
    }


def test_alerts_per_severity_and_hour_count_only_the_readers_teams(analyst_a, manager, alerts):
    mine = _get(analyst_a)
    assert mine["hours"] == 24 and len(mine["buckets"]) == 24
    assert mine["bucket_seconds"] == 3600
    at = _bucket_of(mine, alerts["a_high_1"].triggered_at)
    by_severity = _series(mine, "alerts_by_severity")
    assert list(by_severity) == ["critical", "high", "medium", "low", "informational"]
    assert by_severity["high"][at] == 2 and sum(by_severity["high"]) == 2
    assert by_severity["critical"][at] == 1 and sum(by_severity["critical"]) == 1
    assert sum(by_severity["low"]) == 0  # 30 hours ago: not in the day
    colours = {s["name"]: s["color"] for s in mine["alerts_by_severity"]}
    assert colours["critical"] == severity("critical").color_code

    everyone = _get(manager)
    assert _series(everyone, "alerts_by_severity")["high"][at] == 3

    week = _get(analyst_a, hours=168)
    assert len(week["buckets"]) == 28 and week["bucket_seconds"] == 6 * 3600
    week_counts = _series(week, "alerts_by_severity")
    assert sum(week_counts["low"]) == 1 and sum(week_counts["high"]) == 2
    assert week_counts["low"][_bucket_of(week, alerts["a_low_old"].triggered_at)] == 1


def test_top_ips_users_and_rules(analyst_a, manager, alerts):
    top = _get(analyst_a)["top"]
    assert top["source_ips"] == [
        {"value": "203.0.113.7", "count": 2},
        {"value": "198.51.100.9", "count": 1},
    ]
    assert top["destination_ips"] == [{"value": "10.0.0.5", "count": 1}]
    # From the alerts' entities: "Alice" and "alice" are one user.
    assert top["users"] == [{"value": "alice", "count": 2}]
    rule = alerts["a_high_1"].rule
    assert top["rules"] == [{"value": SCRIPTY_RULE, "id": str(rule.pk), "count": 2}]

    top = _get(manager)["top"]
    assert {"value": "192.0.2.66", "count": 1} in top["source_ips"]
    assert {"value": "mallory", "count": 1} in top["users"]
    assert top["rules"][0]["count"] == 3


def _incident(team, priority: str, status: str = IncidentStatus.TRIAGE, took=None):
    now = timezone.now()
    incident = IncidentFactory.create(
        team=team, priority=priority, status=status, resolved_at=now if took else None
    )
    if took:
        Incident.objects.filter(pk=incident.pk).update(created_at=now - took)
    return incident


def test_open_incidents_by_priority_mtta_and_mttr(analyst_a, manager, team_a, team_b, alerts):
    _incident(team_a, "critical")
    _incident(team_a, "high")
    _incident(team_a, "high")
    _incident(team_a, "low", IncidentStatus.CLOSED, took=timedelta(hours=1))
    _incident(team_b, "critical")
    _incident(team_b, "medium", IncidentStatus.CLOSED, took=timedelta(hours=3))
    acked = alerts["a_high_1"]
    Alert.objects.filter(pk=acked.pk).update(
        acknowledged_at=acked.triggered_at + timedelta(minutes=4)
    )
    Alert.objects.filter(pk=alerts["b_high"].pk).update(
        acknowledged_at=acked.triggered_at + timedelta(minutes=10)
    )

    mine = _get(analyst_a)
    assert [(p["priority"], p["count"]) for p in mine["open_incidents_by_priority"]] == [
        ("critical", 1),
        ("high", 2),
        ("medium", 0),
        ("low", 0),
    ]
    assert mine["mtta"] == {"mean_seconds": 240.0, "median_seconds": 240.0, "count": 1}
    assert mine["mttr"]["count"] == 1 and mine["mttr"]["mean_seconds"] == pytest.approx(3600, 1)

    everyone = _get(manager)
    assert everyone["open_incidents_by_priority"][0] == {
        "priority": "critical",
        "label": "P1 - Critical",
        "count": 2,
    }
    assert everyone["mtta"]["count"] == 2 and everyone["mtta"]["mean_seconds"] == 420.0
    assert everyone["mttr"]["count"] == 2


def _refresh_summary() -> None:
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW hourly_event_summary")


def test_event_volumes_come_from_the_summary_view_once_refreshed(analyst_a, team_a, team_b):
    now = timezone.now()
    firewall = SourceFactory(team=team_a, name="edge firewall")
    vpn = SourceFactory(team=team_b, name="vpn <b>gw</b>")
    two_hours_ago = now - timedelta(hours=2)
    events_store(source=firewall, records=[event_record(two_hours_ago) for _ in range(3)])
    events_store(
        source=vpn,
        records=[
            event_record(two_hours_ago, event_type="network_connection"),
            event_record(now - timedelta(days=3), event_type="network_connection"),
        ],
    )
    assert _get(analyst_a)["events_by_type"] == []  # not in the view until it is refreshed

    _refresh_summary()

    day = _get(analyst_a)
    at = _bucket_of(day, two_hours_ago)
    by_type = _series(day, "events_by_type")
    assert list(by_type) == ["authentication_failure", "network_connection"]
    assert (
        by_type["authentication_failure"][at] == 3 and sum(by_type["authentication_failure"]) == 3
    )
    assert sum(by_type["network_connection"]) == 1  # the other one is three days old
    # Events are every role's to read (events/selectors.py): team B's source counts too.
    assert _series(day, "events_by_source") == {
        "edge firewall": [3 if i == at else 0 for i in range(24)],
        "vpn <b>gw</b>": [1 if i == at else 0 for i in range(24)],
    }
    assert sum(_series(_get(analyst_a, hours=168), "events_by_type")["network_connection"]) == 2


def test_many_event_types_stack_as_the_biggest_and_other(analyst_a, team_a):
    at = timezone.now() - timedelta(hours=1)
    source = SourceFactory(team=team_a)
    records = [
        event_record(at, event_type=f"type_{n:02d}") for n in range(12) for _ in range(n + 1)
    ]
    events_store(source=source, records=records)
    _refresh_summary()

    series = _get(analyst_a)["events_by_type"]
    assert [s["name"] for s in series] == [f"type_{n:02d}" for n in range(11, 3, -1)] + ["other"]
    assert sum(series[-1]["counts"]) == 1 + 2 + 3 + 4


@pytest.mark.parametrize("hours", ["48", "abc", "24.0", "-24"])
def test_an_unknown_range_is_a_400_with_a_message(analyst_a, hours):
    response = client_for(analyst_a).get("/api/v1/dashboard/", {"hours": hours})
    assert response.status_code == 400
    assert "hours" in response.json()


def test_the_api_needs_a_role(nobody, api):
    assert api.get("/api/v1/dashboard/").status_code == 401
    refused = client_for(nobody).get("/api/v1/dashboard/")
    assert refused.status_code == 403 and "no role" in refused.json()["detail"]


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _embedded(page: str) -> dict:
    found = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', page)
    assert found, "the page embeds its data with json_script"
    return json.loads(found.group(1))


def test_the_page_embeds_the_data_escaped_and_loads_the_script(analyst_a, alerts):
    response = _browser(analyst_a).get("/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    # json_script escapes <, > and &: the rule name cannot close the script element.
    assert '<script>alert("rule")' not in page
    assert "\\u003C/script\\u003E\\u003Cscript\\u003Ealert" in page
    data = _embedded(page)
    assert data["top"]["rules"][0]["value"] == SCRIPTY_RULE
    assert data["hours"] == 24
    assert "/static/js/dashboard.js" in page and 'href="/dashboard/"' in page
    assert 'data-api-url="/api/v1/dashboard/?range=24h"' in page
    # No inline script: the data element is JSON, the code a static file.
    assert "<script>" not in page


def test_the_page_range_switch(analyst_a, alerts):
    page = _browser(analyst_a).get("/dashboard/?range=7d").content.decode()
    assert _embedded(page)["hours"] == 168
    assert 'class="current" aria-current="true">Last 7 days' in page
    assert 'data-api-url="/api/v1/dashboard/?range=7d"' in page
    # The old links still work; an old value the switch never offered shows the day.
    old = _browser(analyst_a).get("/dashboard/?hours=168").content.decode()
    assert _embedded(old)["hours"] == 168
    assert _embedded(_browser(analyst_a).get("/dashboard/?hours=5").content.decode())["hours"] == 24


def test_the_page_without_a_role_shows_no_data(nobody, alerts):
    response = _browser(nobody).get("/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "No role yet" in page
    assert "dashboard-data" not in page and "dashboard.js" not in page


def test_the_page_needs_a_login():
    response = Client().get("/dashboard/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
