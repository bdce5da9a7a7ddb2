"""Enrichment on the ingest path: events about a known asset carry its id."""

from __future__ import annotations

import pytest

from events.ingest import events_ingest
from events.models import Event
from events.parsers import RawRecord
from tests.factories import AssetFactory, SourceFactory


@pytest.mark.django_db
def test_events_are_tied_to_the_asset_they_are_about():
    web = AssetFactory(name="web-01", hostnames=["web-01"], ip_addresses=["10.20.0.5"])
    dc = AssetFactory(name="dc-01", hostnames=["dc-01"], ip_addresses=["10.20.0.10"])
    source = SourceFactory(format="syslog")
    lines = [
        "<38>Nov 28 04:03:59 web-01 sshd[1]: Failed password for root from 198.51.100.9 "
        "port 22 ssh2",
        "<38>Nov 28 04:04:00 unknown-host kernel: DROP IN=eth0 OUT= SRC=198.51.100.9 "
        "DST=10.20.0.10 PROTO=TCP SPT=4444 DPT=445",
        "<38>Nov 28 04:04:01 elsewhere app: nothing we know",
    ]
    result = events_ingest(
        source=source,
        transport="api",
        records=[RawRecord(n, line) for n, line in enumerate(lines, 1)],
    )
    assert result.accepted == 3
    by_type = {e.event_type: e.asset_id for e in Event.objects.filter(batch_id=result.batch_id)}
    assert by_type["ssh_login_failed"] == web.pk  # by host name
    assert by_type["firewall_denied"] == dc.pk  # by destination address
    assert by_type["syslog"] is None
