"""Discovery: our addresses and host names that events mention and no asset claims are
listed, with counts and first/last seen; the list is bounded in rows; "add to inventory"
takes a host off it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from assets.index import inventory_changed
from assets.models import DiscoveredHost
from events.discovery import discover_unknown_hosts
from events.services import events_store
from tests.conftest import client_for
from tests.factories import AssetFactory, AssetTypeFactory, SourceFactory, event_record

pytestmark = pytest.mark.django_db
NOW = datetime.now(tz=UTC).replace(microsecond=0)


def store(*records) -> None:
    events_store(source=SourceFactory.create(), records=list(records))


def seen() -> dict[str, DiscoveredHost]:
    return {f"{h.kind}:{h.value}": h for h in DiscoveredHost.objects.all()}


def test_unknown_internal_hosts_are_listed_and_known_or_external_ones_are_not(reference_data):
    AssetFactory(name="known", ip_addresses=["10.5.0.1"], hostnames=["known"])
    inventory_changed()
    at = NOW - timedelta(minutes=30)
    store(
        event_record(at, source_ip="203.0.113.9", dest_ip="10.5.0.1"),  # known target
        event_record(at, source_ip="10.5.0.2", dest_ip="10.5.0.1"),
        event_record(at + timedelta(minutes=1), source_ip="10.5.0.2", dest_ip="192.168.7.7"),
        event_record(at, normalized_data={"host": {"name": "Mystery-PC"}}),
        event_record(at, normalized_data={"host": {"name": "known"}}),
    )
    # 10.5.0.2, 192.168.7.7, 10.0.0.5 (the host-name events' destination) and mystery-pc
    assert discover_unknown_hosts(now=NOW) == 4
    found = seen()
    assert found["ip:10.5.0.2"].event_count == 2
    assert found["ip:10.5.0.2"].last_seen - found["ip:10.5.0.2"].first_seen == timedelta(minutes=1)
    assert "ip:192.168.7.7" in found and "host:mystery-pc" in found
    assert "ip:10.5.0.1" not in found and "host:known" not in found
    assert "ip:203.0.113.9" not in found  # not one of our networks


def test_a_second_scan_reads_only_newer_events_and_adds_up(reference_data):
    store(event_record(NOW - timedelta(minutes=30), source_ip="10.6.0.1", dest_ip=None))
    discover_unknown_hosts(now=NOW)
    assert discover_unknown_hosts(now=NOW) == 0  # nothing new since the cursor
    store(event_record(NOW + timedelta(minutes=2), source_ip="10.6.0.1", dest_ip=None))
    discover_unknown_hosts(now=NOW + timedelta(minutes=10))
    assert seen()["ip:10.6.0.1"].event_count == 2


def test_the_list_keeps_at_most_the_configured_rows(reference_data, settings):
    settings.ASSETS_DISCOVERY_MAX_ROWS = 10
    at = NOW - timedelta(minutes=30)
    store(*(event_record(at, source_ip=f"10.7.0.{n}", dest_ip=None) for n in range(1, 26)))
    discover_unknown_hosts(now=NOW)
    assert DiscoveredHost.objects.count() == 10


def test_adding_a_discovered_host_to_the_inventory_takes_it_off_the_list(manager):
    store(event_record(NOW - timedelta(minutes=30), source_ip="10.8.0.1", dest_ip=None))
    discover_unknown_hosts(now=NOW)
    api = client_for(manager)
    listed = api.get("/api/v1/discovered-hosts/").json()["results"]
    assert [(h["kind"], h["value"], h["event_count"]) for h in listed] == [("ip", "10.8.0.1", 1)]
    browser = Client()
    browser.force_login(manager)
    page = browser.get("/assets/discovered/").content.decode()
    assert "/assets/new/?ip=10.8.0.1" in page
    form = browser.get("/assets/new/?ip=10.8.0.1").content.decode()
    assert "10.8.0.1" in form
    kind = AssetTypeFactory(name="server")
    saved = browser.post(
        "/assets/new/",
        {"name": "found", "asset_type": kind.pk, "criticality": "high", "ip_addresses": "10.8.0.1"},
    )
    assert saved.status_code == 302
    assert api.get("/api/v1/discovered-hosts/").json()["results"] == []
