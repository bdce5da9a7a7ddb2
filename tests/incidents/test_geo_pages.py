"""Geolocation on the pages (docs/GEOIP.md): an alert's and an IP entity's addresses with
country, city and AS (escaped), private ones named as such, and "geolocation is off"
where no database is configured; the event search marks public addresses with their
country and says when geolocation fields cannot be there."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from events.ingest import events_ingest
from events.parsers import RawRecord
from tests.factories import SourceFactory

from .conftest import browser_for, raise_alert

pytestmark = pytest.mark.django_db


def test_an_alert_shows_where_its_addresses_are(analyst_a, team_a, asn_database):
    alert = raise_alert(team_a, source__ip="81.2.69.160", destination__ip="10.0.0.7")
    page = browser_for(analyst_a).get(f"/alerts/{alert.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    geo = html[html.index('aria-label="Geolocation"') :]
    assert "United Kingdom" in geo and "London" in geo and "AS20712" in geo
    assert "Andrews &amp; Arnold &lt;Ltd&gt;" in geo  # escaped, as every value
    assert "10.0.0.7" in geo and "private or reserved address (not looked up)" in geo


def test_an_alert_page_says_geolocation_is_off_without_a_database(analyst_a, team_a, settings):
    settings.GEOIP_DATABASE = ""
    alert = raise_alert(team_a, source__ip="81.2.69.160")
    html = browser_for(analyst_a).get(f"/alerts/{alert.pk}/").content.decode()
    assert "Geolocation is off: no GEOIP_DATABASE" in html
    assert "United Kingdom" not in html


def test_an_alert_page_says_why_when_the_database_cannot_be_read(analyst_a, team_a, geo_database):
    geo_database.write_bytes(b"garbage")
    alert = raise_alert(team_a, source__ip="81.2.69.160")
    html = browser_for(analyst_a).get(f"/alerts/{alert.pk}/").content.decode()
    assert "Geolocation is unavailable (GEOIP_DATABASE: cannot be read: not a valid" in html


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("8.8.8.8", ["United States", "AS15169", "GOOGLE"]),
        ("89.160.20.112", ["SE", "Sweden", "Linköping"]),
        ("192.168.4.4", ["private or reserved address (not looked up)"]),
        ("1.1.1.1", ["not in the database"]),
    ],
)
def test_an_ip_page_shows_country_city_and_as(analyst_a, geo_database, address, shown):
    html = browser_for(analyst_a).get(f"/entities/ip/{address}/").content.decode()
    geo = html[html.index('aria-label="Geolocation"') :]
    for text in shown:
        assert text in geo


def test_an_ip_page_without_a_database_says_so_and_a_user_page_has_no_geolocation(
    analyst_a, settings
):
    settings.GEOIP_DATABASE = ""
    html = browser_for(analyst_a).get("/entities/ip/8.8.8.8/").content.decode()
    assert "Geolocation is off: no GEOIP_DATABASE" in html
    html = browser_for(analyst_a).get("/entities/user/alice/").content.decode()
    assert 'aria-label="Geolocation"' not in html


def ingest_json(team, *documents: dict) -> None:
    result = events_ingest(
        source=SourceFactory.create(format="json", team=team),
        records=[RawRecord(n, json.dumps(d)) for n, d in enumerate(documents, 1)],
        transport="api",
    )
    assert result.accepted == len(documents)


def connection(source: str, destination: str, **source_extra) -> dict:
    when = (datetime.now(tz=UTC) - timedelta(minutes=10)).isoformat()
    return {
        "@timestamp": when,
        "event": {"kind": "event", "category": ["network"]},
        "source": {"ip": source, **source_extra},
        "destination": {"ip": destination},
        "message": f"{source} -> {destination}",
    }


def test_search_marks_public_addresses_with_their_country(analyst_a, team_a, geo_database):
    ingest_json(
        team_a,
        connection("81.2.69.160", "10.0.0.7"),
        connection("10.0.0.7", "8.8.8.8"),
        connection("1.1.1.1", "10.0.0.8", geo={"country_iso_code": "<b>XX</b>"}),
    )
    browser = browser_for(analyst_a)
    html = browser.get("/events/search/", {"q": "source.geo.country_iso_code:GB"}).content.decode()
    results = html[html.index('id="search-results"') :]
    assert '<span class="tag geo" title="United Kingdom">GB</span>' in results
    assert "<code>source.geo.country_iso_code</code>" in results  # the field table
    assert "source.geo.city_name" in results and "London" in results
    assert "8.8.8.8" not in results  # only the GB event
    html = browser.get("/events/search/", {"q": ""}).content.decode()
    assert '<span class="tag geo" title="United States">US</span>' in html
    assert "&lt;b&gt;XX&lt;/b&gt;" in html and "<b>XX</b>" not in html  # the sender's, escaped
    assert 'id="geo-off"' not in html


def test_search_for_geolocation_says_when_it_is_off(analyst_a, settings):
    settings.GEOIP_DATABASE = ""
    browser = browser_for(analyst_a)
    html = browser.get("/events/search/", {"q": "source.geo.country_iso_code:RU"}).content.decode()
    assert "Geolocation is off: no GEOIP_DATABASE" in html
    html = browser.get("/events/search/", {"q": "user.name:root"}).content.decode()
    assert 'id="geo-off"' not in html
