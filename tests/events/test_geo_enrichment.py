"""Geolocation at ingest (docs/GEOIP.md): public source and destination addresses get
ECS ``geo`` and ``as`` in the stored document, through the public ingest API; private
addresses, events without a database, and what the sender said stay as they were; the
cost of a batch is one lookup per distinct public address."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from events.services import source_create
from socapp.geoip import geoip
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

# An hour ago, so that searches over their default range find them.
WHEN = (timezone.now() - timedelta(hours=1)).strftime("%b %d %H:%M:%S")
SSHD_LONDON = f"<38>{WHEN} web-01 sshd[1]: Failed password for root from 81.2.69.160 port 22 ssh2"
OUT_TO_GOOGLE = (
    f"<38>{WHEN} fw kernel: DROP IN=eth0 OUT= SRC=10.20.0.5 DST=8.8.8.8 PROTO=UDP SPT=5353 DPT=53"
)
INSIDE = (
    f"<38>{WHEN} fw kernel: DROP IN=eth0 OUT= SRC=10.20.0.5 DST=192.168.1.1 "
    "PROTO=TCP SPT=4444 DPT=445"
)


@pytest.fixture
def sources(reference_data):
    from socapp.models import Team

    team = Team.objects.get(name="SOC")
    return {
        fmt: source_create(name=f"geo-{fmt}", log_format=fmt, team=team, actor=None)
        for fmt in ("syslog", "json")
    }


def ingest(sources, fmt: str, lines: list[str]) -> list[dict]:
    """The documents stored from ``lines`` (posted as a shipper does), in their order."""
    _, token = sources[fmt]
    body = "\n".join(lines)
    response = client_for(None).generic(
        "POST",
        reverse("api:ingest"),
        body,
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == len(lines)
    events = Event.objects.filter(batch_id=response.json()["batch_id"])
    return [e.normalized_data for e in events.order_by("event_id")]


def test_public_addresses_get_their_country_city_location_and_as(sources, geo_database):
    stored = ingest(sources, "syslog", [SSHD_LONDON, OUT_TO_GOOGLE, INSIDE])
    london = stored[0]["source"]
    assert london["ip"] == "81.2.69.160"
    assert london["geo"] == {
        "country_iso_code": "GB",
        "country_name": "United Kingdom",
        "city_name": "London",
        "location": {"lat": 51.5142, "lon": -0.0931},
    }
    google = stored[1]
    assert google["destination"]["ip"] == "8.8.8.8"
    assert google["destination"]["geo"]["country_iso_code"] == "US"
    assert google["destination"]["as"] == {"number": 15169, "organization": {"name": "GOOGLE"}}
    assert "geo" not in google["source"] and "as" not in google["source"]  # 10.20.0.5
    assert all("geo" not in stored[2][side] for side in ("source", "destination"))


def test_private_addresses_are_left_alone(sources, geo_database):
    stored = ingest(sources, "syslog", [INSIDE])
    document = stored[0]
    assert set(document["source"]) == {"ip", "port"}
    assert set(document["destination"]) == {"ip", "port"}
    assert geoip.lookups == 0


def test_the_asn_database_fills_as_beside_the_city_files_geo(sources, asn_database):
    stored = ingest(sources, "syslog", [SSHD_LONDON])
    source = stored[0]["source"]
    assert source["geo"]["city_name"] == "London"
    assert source["as"] == {"number": 20712, "organization": {"name": "Andrews & Arnold <Ltd>"}}


def test_what_the_sender_said_is_kept(sources, geo_database):
    claimed = {
        "@timestamp": "2026-11-28T08:00:00Z",
        "event": {"kind": "event", "category": ["network"]},
        "source": {"ip": "81.2.69.160", "geo": {"country_iso_code": "FR"}},
        "destination": {"ip": "8.8.8.8", "as": {"number": 1}},
    }
    document = ingest(sources, "json", [json.dumps(claimed)])[0]
    assert document["source"]["geo"] == {"country_iso_code": "FR"}
    assert document["destination"]["as"] == {"number": 1}
    assert document["destination"]["geo"]["country_iso_code"] == "US"  # not said: added


def test_without_a_database_events_are_stored_without_geolocation(sources, settings):
    settings.GEOIP_DATABASE = ""
    stored = ingest(sources, "syslog", [SSHD_LONDON, OUT_TO_GOOGLE])
    for document in stored:
        assert "geo" not in document["source"]
        assert "geo" not in document.get("destination", {})


def test_an_unreadable_database_does_not_stop_ingest(sources, geo_database):
    geo_database.write_bytes(b"\x00garbage" * 1000)
    stored = ingest(sources, "syslog", [SSHD_LONDON, OUT_TO_GOOGLE])
    assert len(stored) == 2
    assert "geo" not in stored[0]["source"]
    assert not geoip.status()[0]


def test_a_batch_costs_one_lookup_per_distinct_public_address(sources, geo_database, settings):
    settings.GEOIP_CACHE_SIZE = 2
    addresses = ["81.2.69.160", "89.160.20.112"]
    lines = [
        SSHD_LONDON.replace("81.2.69.160", addresses[n % 2]).replace("sshd[1]", f"sshd[{n}]")
        for n in range(300)
    ]
    stored = ingest(sources, "syslog", lines)
    assert stored  # 300 events, two addresses
    assert geoip.lookups == 2
    assert geoip.cached() <= 2


def test_stored_geolocation_is_searchable(sources, geo_database, analyst_a):
    ingest(sources, "syslog", [SSHD_LONDON, OUT_TO_GOOGLE, INSIDE])
    search = client_for(analyst_a)
    found = search.get("/api/v1/events/search/", {"q": "source.geo.country_iso_code:GB"})
    assert found.status_code == 200
    assert [e["source_ip"] for e in found.json()["results"]] == ["81.2.69.160"]
    found = search.get("/api/v1/events/search/", {"q": "destination.as.number:15169"})
    assert [e["dest_ip"] for e in found.json()["results"]] == ["8.8.8.8"]
    found = search.get("/api/v1/events/search/", {"q": "source.geo.country_iso_code:*"})
    assert len(found.json()["results"]) == 1
