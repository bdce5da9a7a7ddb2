"""A small MaxMind-format database, written by ``mmdb-writer`` for the test that asks for
it (fixture ``geo_database``), in the layouts of GeoLite2-City and GeoLite2-ASN.

The networks are public ones (documentation ranges such as 198.51.100.0/24 are not
global, so socapp never looks them up); the data about them is made up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from socapp.geoip import geoip


def city(code: str, country: str, name: str | None, lat: float, lon: float) -> dict[str, Any]:
    record: dict[str, Any] = {
        "country": {"iso_code": code, "names": {"en": country}},
        "location": {"latitude": lat, "longitude": lon},
    }
    if name:
        record["city"] = {"names": {"en": name}}
    return record


CITY_NETWORKS: dict[str, dict[str, Any]] = {
    "81.2.69.0/24": city("GB", "United Kingdom", "London", 51.5142, -0.0931),
    "89.160.20.0/24": city("SE", "Sweden", "Linköping", 58.4167, 15.6167),
    "5.45.192.0/20": city("RU", "Russia", "Moscow", 55.7527, 37.6172),
    "8.8.8.0/24": {
        **city("US", "United States", None, 37.751, -97.822),
        "autonomous_system_number": 15169,
        "autonomous_system_organization": "GOOGLE",
    },
    "2a02:6b8::/32": city("RU", "Russia", None, 55.7386, 37.6068),
}
ASN_NETWORKS: dict[str, dict[str, Any]] = {
    "81.2.69.0/24": {
        "autonomous_system_number": 20712,
        "autonomous_system_organization": "Andrews & Arnold <Ltd>",
    },
}


def write_database(
    path: Path, networks: dict[str, dict[str, Any]], kind: str = "GeoLite2-City"
) -> Path:
    """An IPv6 database holding IPv4 too (as MaxMind's are) with ``networks``."""
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=kind,
        languages=["en"],
        description={"en": f"socapp test {kind}"},
    )
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def geo_database(tmp_path, settings) -> Path:
    """GEOIP_DATABASE set to a fresh City-layout file; changes looked at every time."""
    path = write_database(tmp_path / "city.mmdb", CITY_NETWORKS)
    settings.GEOIP_DATABASE = str(path)
    settings.GEOIP_ASN_DATABASE = ""
    settings.GEOIP_RECHECK_SECONDS = 0
    geoip.forget()
    return path


@pytest.fixture
def asn_database(tmp_path, settings, geo_database) -> Path:
    path = write_database(tmp_path / "asn.mmdb", ASN_NETWORKS, kind="GeoLite2-ASN")
    settings.GEOIP_ASN_DATABASE = str(path)
    return path
