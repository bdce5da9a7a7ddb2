"""Geolocation from a MaxMind-format file (socapp/geoip.py, docs/GEOIP.md): public
addresses only, the file's replacement picked up, an unreadable file reported (never
raised), answers cached in a bounded LRU."""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from socapp.geoip import OFF_MESSAGE, geoip, is_public, locate
from tests.geodb import CITY_NETWORKS, city, write_database


def test_without_a_database_lookups_answer_nothing_and_the_status_says_off(settings):
    settings.GEOIP_DATABASE = ""
    assert locate("8.8.8.8") is None
    assert geoip.status() == (True, OFF_MESSAGE)
    assert geoip.lookups == 0


def test_a_public_address_gets_country_city_location_and_as(geo_database):
    london = locate("81.2.69.160")
    assert london is not None
    assert london.geo() == {
        "country_iso_code": "GB",
        "country_name": "United Kingdom",
        "city_name": "London",
        "location": {"lat": 51.5142, "lon": -0.0931},
    }
    assert london.autonomous_system() == {}  # not in the City file
    google = locate("8.8.8.8")
    assert google is not None and google.geo()["country_iso_code"] == "US"
    assert "city_name" not in google.geo()
    assert google.autonomous_system() == {"number": 15169, "organization": {"name": "GOOGLE"}}
    assert locate("2a02:6b8::feed").country_iso_code == "RU"  # IPv6 too
    assert locate("1.1.1.1") is None  # public, not in the file


def test_the_asn_database_adds_the_autonomous_system(asn_database):
    place = locate("81.2.69.160")
    assert place.city_name == "London"
    assert place.autonomous_system() == {
        "number": 20712,
        "organization": {"name": "Andrews & Arnold <Ltd>"},
    }
    healthy, said = geoip.status()
    assert healthy and "GEOIP_ASN_DATABASE: GeoLite2-ASN built" in said


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "192.168.0.9",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "198.51.100.7",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "not an address",
    ],
)
def test_addresses_that_are_not_public_are_never_looked_up(geo_database, address):
    assert locate(address) is None
    assert geoip.lookups == 0


def test_a_replaced_file_is_picked_up(geo_database, tmp_path):
    assert locate("89.160.20.112").country_iso_code == "SE"
    moved = {**CITY_NETWORKS, "89.160.20.0/24": city("NO", "Norway", "Oslo", 59.9, 10.7)}
    # As geoipupdate does: the new file written beside the old, then moved over it.
    os.replace(write_database(tmp_path / "next.mmdb", moved), geo_database)
    assert locate("89.160.20.112").country_iso_code == "NO"  # the cache was dropped too


@pytest.mark.django_db
def test_a_garbage_file_is_reported_and_answers_nothing(geo_database):
    geo_database.write_bytes(b"not a MaxMind database\n" * 100)
    healthy, said = geoip.status()
    assert not healthy
    assert said == "error: GEOIP_DATABASE: cannot be read: not a valid MaxMind DB file"
    assert locate("81.2.69.160") is None
    ready = Client().get("/ready")
    assert ready.status_code == 200  # events are stored without geolocation meanwhile
    assert "not a valid MaxMind DB file" in ready.json()["optional"]["geoip"]
    assert str(geo_database) not in ready.content.decode()  # where it is: not for anyone


def test_a_missing_file_is_reported(settings, tmp_path):
    settings.GEOIP_DATABASE = str(tmp_path / "nowhere.mmdb")
    assert geoip.status() == (
        False,
        "error: GEOIP_DATABASE: cannot be read: no such file",
    )


@pytest.mark.django_db
def test_ready_says_whether_geolocation_is_on(geo_database):
    optional = Client().get("/ready").json()["optional"]
    assert optional["geoip"].startswith("on: GEOIP_DATABASE: GeoLite2-City built ")


def test_the_cache_is_bounded_and_spares_repeated_lookups(geo_database, settings):
    settings.GEOIP_CACHE_SIZE = 3
    for _ in range(100):
        locate("81.2.69.160")
    assert geoip.lookups == 1
    for n in range(50):
        locate(f"81.2.69.{n}")
    assert geoip.cached() == 3
    assert geoip.lookups == 51


def test_the_command_says_what_it_knows(geo_database):
    out = StringIO()
    call_command("geoip_status", "81.2.69.160", "10.0.0.1", stdout=out)
    text = out.getvalue()
    assert "GeoLite2-City built" in text and "'country_iso_code': 'GB'" in text
    assert "10.0.0.1: not a public address" in text
    geo_database.write_bytes(b"garbage")
    with pytest.raises(CommandError):
        call_command("geoip_status", stdout=StringIO())


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("0.255.255.255", False), ("1.0.0.0", True), ("9.255.255.255", True),
        ("10.0.0.0", False), ("10.255.255.255", False), ("11.0.0.0", True),
        ("100.63.255.255", True), ("100.64.0.0", False), ("100.127.255.255", False),
        ("100.128.0.0", True), ("172.15.255.255", True), ("172.16.0.1", False),
        ("172.32.0.0", True), ("192.0.0.9", False), ("192.0.1.1", True),
        ("203.0.112.255", True), ("203.0.113.0", False), ("203.0.114.0", True),
        ("223.255.255.255", True), ("224.0.0.0", False), ("255.255.255.255", False),
        ("2001:4860:4860::8888", True), ("2001:db8::1", False), ("ff02::1", False),
        ("::ffff:10.0.0.1", False), ("1.2.3", False), ("", False), ("8.8.8.8 ", False),
    ],
)  # fmt: skip
def test_the_edges_of_what_counts_as_public(address, public):
    assert is_public(address) is public
