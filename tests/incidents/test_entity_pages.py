"""Entity pages: an IP, a user and a host with their events, alerts, incidents and
asset context, pivots to what was seen with them, and only what the viewer may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.services import events_store
from incidents.services import incident_escalate
from tests.factories import AssetFactory, SourceFactory, event_record

from .conftest import browser_for, raise_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen(team_a):
    now = datetime.now(tz=UTC)  # when the test runs: the pages show a recent window
    events_store(
        source=SourceFactory(team=team_a),
        records=[
            event_record(
                now - timedelta(minutes=5),
                source_ip="203.0.113.7",
                dest_ip="10.0.0.5",
                raw_data="login eve from 203.0.113.7",
                normalized_data={
                    "user": {"name": "eve"},
                    "related": {"user": ["eve"], "hosts": ["db-01"]},
                },
            ),
            event_record(now - timedelta(minutes=6), source_ip="198.51.100.2", raw_data="other"),
        ],
    )


def test_an_ip_page_gathers_events_alerts_incidents_asset_and_pivots(
    analyst_a, team_a, team_b, seen
):
    AssetFactory(name="vpn-gw", ip_addresses=["203.0.113.7"], criticality="critical")
    alert = raise_alert(team_a, "VPN brute force", source__ip="203.0.113.7")
    incident = incident_escalate(alert=alert, actor=analyst_a)
    raise_alert(team_b, "team B sees it too", source__ip="203.0.113.7")

    page = browser_for(analyst_a).get("/entities/ip/203.0.113.7/").content.decode()
    assert "vpn-gw" in page and "critical" in page
    assert "VPN brute force" in page and incident.number in page
    assert "team B sees it too" not in page
    assert "login eve from 203.0.113.7" in page and "other" not in page
    assert "/entities/user/eve/" in page and "/entities/host/db-01/" in page
    assert "/entities/ip/10.0.0.5/" in page


def test_user_and_host_pages_and_escaping(analyst_a, team_a, seen):
    raise_alert(team_a, "eve did a thing", user__name="Eve")
    user_page = browser_for(analyst_a).get("/entities/user/eve/").content.decode()
    assert "eve did a thing" in user_page and "login eve from 203.0.113.7" in user_page
    host_page = browser_for(analyst_a).get("/entities/host/db-01/").content.decode()
    assert "login eve from 203.0.113.7" in host_page
    odd = browser_for(analyst_a).get("/entities/user/<script>alert(1)</script>/")
    assert odd.status_code == 200 and "<script>alert(1)" not in odd.content.decode()
    assert browser_for(analyst_a).get("/entities/ip/not-an-ip/").status_code == 404
