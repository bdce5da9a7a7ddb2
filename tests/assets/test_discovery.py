"""Discovery: our addresses and host names that events mention and no asset claims are
listed, with counts and first/last seen; the list is bounded in rows; "add to inventory"
takes a host off it. Scans go by arrival: an event that arrives late, stamped days ago, is
found by the next scan, and a scan reads only what arrived since the last one.

An event's arrival is its id's time (a UUIDv7 made as ingest reads it); ``store`` gives
the events of a test the arrival it says by making their ids for that time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client

from assets.index import inventory_changed
from assets.models import DiscoveredHost
from events.discovery import discover_unknown_hosts
from events.services import events_store
from socapp.ids import uuid7
from tests.conftest import client_for
from tests.factories import AssetFactory, AssetTypeFactory, SourceFactory, event_record

pytestmark = pytest.mark.django_db
NOW = datetime.now(tz=UTC).replace(microsecond=0)


def store(*records, arrived: datetime | None = None) -> None:
    """Store ``records`` as if they arrived at ``arrived`` (default: 20 minutes ago)."""
    arrived = arrived or NOW - timedelta(minutes=20)
    for record in records:
        record.event_id = uuid7(arrived)
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
    later = NOW + timedelta(minutes=2)
    store(event_record(later, source_ip="10.6.0.1", dest_ip=None), arrived=later)
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


def test_an_event_arriving_late_with_an_old_timestamp_is_found_by_the_next_scan(
    reference_data, settings
):
    settings.ASSETS_DISCOVERY_LATE_HOURS = 72
    store(event_record(NOW - timedelta(minutes=30), source_ip="10.9.0.1", dest_ip=None))
    discover_unknown_hosts(now=NOW)  # the cursor is now past the two days below
    two_days_ago = NOW - timedelta(days=2)
    arrived = NOW + timedelta(minutes=1)
    store(
        event_record(two_days_ago, source_ip="10.9.0.2", dest_ip=None),
        event_record(two_days_ago, normalized_data={"host": {"name": "backlog-pc"}}, dest_ip=None),
        event_record(NOW - timedelta(days=4), source_ip="10.9.0.3", dest_ip=None),  # too late
        arrived=arrived,
    )
    assert discover_unknown_hosts(now=NOW + timedelta(minutes=10)) == 2
    found = seen()
    assert found["ip:10.9.0.2"].first_seen == two_days_ago
    assert "host:backlog-pc" in found
    assert "ip:10.9.0.3" not in found  # stamped before ASSETS_DISCOVERY_LATE_HOURS


def _events_rows_read() -> int:
    """Rows this transaction has read from the events partitions (sequential or by index)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(seq_tup_read + coalesce(idx_tup_fetch, 0)), 0)"
            " FROM pg_stat_xact_user_tables WHERE relid IN"
            " (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'events'::regclass)"
        )
        return int(cursor.fetchone()[0])


def test_a_scan_reads_the_events_that_arrived_in_its_window_not_the_whole_time_range(
    reference_data,
):
    # 3,000 events of the last hour that arrived before the last scan...
    at = NOW - timedelta(minutes=50)
    store(
        *(event_record(at, source_ip=f"10.10.{n // 250}.{n % 250}") for n in range(3000)),
        arrived=NOW - timedelta(minutes=40),
    )
    discover_unknown_hosts(now=NOW)
    # ...and five that arrive after it, stamped in the same hour and two days ago.
    arrived = NOW + timedelta(minutes=1)
    late = NOW - timedelta(days=2)
    store(*(event_record(at, source_ip="10.11.0.1", dest_ip=None) for _ in range(3)),
          *(event_record(late, source_ip="10.11.0.2", dest_ip=None) for _ in range(2)),
          arrived=arrived)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events")  # what autovacuum would do for a table this size
    before = _events_rows_read()
    assert discover_unknown_hosts(now=NOW + timedelta(minutes=10)) == 2
    # Three queries (two for addresses, one for host names) over the window's five events,
    # a few more rows for the statistics' counting: not the 3,000 earlier arrivals beside them.
    assert _events_rows_read() - before < 50


def test_the_admin_shows_discovered_hosts_read_only_and_a_soc_admin_dismisses_one(
    soc_admin, auditor
):
    """What discovery observed is not edited by hand: no add, the change page shows the
    host without a save button and a changed POST is refused; deleting it (dismissing) is
    a SOC admin's, audited."""
    from socapp.models import AuditEntry

    seen_at = NOW - timedelta(hours=1)
    host = DiscoveredHost.objects.create(
        kind="ip", value="10.7.0.9", first_seen=seen_at, last_seen=seen_at, event_count=3
    )
    change = f"/admin/assets/discoveredhost/{host.pk}/change/"
    for user in (soc_admin, auditor):
        client = Client()
        client.force_login(user)
        assert "10.7.0.9" in client.get("/admin/assets/discoveredhost/").content.decode()
        shown = client.get(change).content.decode()
        assert "10.7.0.9" in shown and 'name="_save"' not in shown
        edited = {"kind": "host", "value": "forged", "event_count": 999}
        edited |= {"first_seen_0": "2020-01-01", "first_seen_1": "00:00:00"}
        assert client.post(change, edited).status_code == 403
        assert client.get("/admin/assets/discoveredhost/add/").status_code == 403
    host.refresh_from_db()
    assert (host.kind, host.value, host.event_count, host.first_seen) == (
        "ip",
        "10.7.0.9",
        3,
        seen_at,
    )
    admin = Client()
    admin.force_login(soc_admin)
    deleted = admin.post(f"/admin/assets/discoveredhost/{host.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not DiscoveredHost.objects.exists()
    assert AuditEntry.objects.filter(action="admin.delete").count() == 1
