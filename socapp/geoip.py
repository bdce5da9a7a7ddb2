"""Geolocation of public addresses from MaxMind-format databases (docs/GEOIP.md).

The admin points ``GEOIP_DATABASE`` at a GeoLite2/GeoIP2 City or Country file (and
optionally ``GEOIP_ASN_DATABASE`` at a GeoLite2-ASN file); without one every lookup
answers None and the pages say geolocation is off. Files are opened memory-mapped
(``maxminddb``'s C reader), once per process; ``refresh`` looks at each file's
modification time at most every ``GEOIP_RECHECK_SECONDS`` and reopens a replaced one (a
new file should be moved into place, as ``geoipupdate`` does: a file rewritten in place
under a live mapping is undefined behaviour for any mmap reader). A file that cannot be
read is reported by ``status`` and answers nothing; it never raises into the caller.

Answers are kept in a per-process LRU of ``GEOIP_CACHE_SIZE`` addresses (cleared when a
database changes), so a batch full of the same few addresses costs a few lookups.
Addresses that are not global (private, loopback, link-local, documentation, shared,
multicast, reserved) are never looked up.
"""

from __future__ import annotations

import bisect
import ipaddress
import logging
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import maxminddb
from django.conf import settings

log = logging.getLogger(__name__)

OFF_MESSAGE = "Geolocation is off: no GEOIP_DATABASE"


@dataclass(frozen=True)
class Place:
    """What the databases say about one address (any part may be missing)."""

    country_iso_code: str | None = None
    country_name: str | None = None
    city_name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    as_number: int | None = None
    as_organization: str | None = None

    def geo(self) -> dict[str, Any]:
        """The ECS ``geo`` object (``source.geo``), only the parts known."""
        found: dict[str, Any] = {}
        if self.country_iso_code:
            found["country_iso_code"] = self.country_iso_code
        if self.country_name:
            found["country_name"] = self.country_name
        if self.city_name:
            found["city_name"] = self.city_name
        if self.latitude is not None and self.longitude is not None:
            found["location"] = {"lat": self.latitude, "lon": self.longitude}
        return found

    def autonomous_system(self) -> dict[str, Any]:
        """The ECS ``as`` object (``source.as``), only the parts known."""
        found: dict[str, Any] = {}
        if self.as_number is not None:
            found["number"] = self.as_number
        if self.as_organization:
            found["organization"] = {"name": self.as_organization}
        return found


def _name(node: Any) -> str | None:
    names = node.get("names") if isinstance(node, dict) else None
    value = names.get("en") if isinstance(names, dict) else None
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def place_of(record: Any, asn_record: Any = None) -> Place | None:
    """A database record (City/Country layout, ASN keys where present) as a Place."""
    parts: dict[str, Any] = {}
    if isinstance(record, dict):
        country = record.get("country") or record.get("registered_country") or {}
        if isinstance(country, dict):
            code = country.get("iso_code")
            parts["country_iso_code"] = code if isinstance(code, str) else None
            parts["country_name"] = _name(country)
        parts["city_name"] = _name(record.get("city"))
        location = record.get("location")
        if isinstance(location, dict):
            parts["latitude"] = _number(location.get("latitude"))
            parts["longitude"] = _number(location.get("longitude"))
    for source in (record, asn_record):
        if isinstance(source, dict):
            number = source.get("autonomous_system_number")
            organization = source.get("autonomous_system_organization")
            if isinstance(number, int) and not isinstance(number, bool):
                parts["as_number"] = number
            if isinstance(organization, str):
                parts["as_organization"] = organization
    place = Place(**parts)
    return place if place != Place() else None


# IPv4 blocks that are not globally reachable (IANA special-purpose registry) or not
# unicast: the fast path of ``is_public`` (``ipaddress`` takes ~7 us an address, this
# ~1 us), sorted and disjoint.
_V4_NOT_PUBLIC = [
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
]  # fmt: skip
_V4_STARTS = [int(n.network_address) for n in _V4_NOT_PUBLIC]
_V4_ENDS = [int(n.broadcast_address) for n in _V4_NOT_PUBLIC]


def is_public(address: str) -> bool:
    """Whether ``address`` is a global unicast address (worth a lookup)."""
    try:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")
    except OSError:  # IPv6, or not an address
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return ip.is_global and not ip.is_multicast
    block = bisect.bisect_right(_V4_STARTS, value) - 1
    return block < 0 or value > _V4_ENDS[block]


def _why(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, maxminddb.InvalidDatabaseError):
        return "not a valid MaxMind DB file"
    return type(exc).__name__


class _Database:
    """One database file: its reader, and what its file looked like when opened."""

    def __init__(self, setting: str, path: str) -> None:
        self.setting = setting
        self.path = path
        self.reader: Any = None
        self.signature: tuple[int, int, int] | None = None
        self.error = ""
        self.open()

    def _stat(self) -> tuple[int, int, int]:
        found = Path(self.path).stat()
        return (found.st_ino, found.st_size, found.st_mtime_ns)

    def open(self) -> None:
        signature = None
        try:
            signature = self._stat()
            self.reader = maxminddb.open_database(self.path, maxminddb.MODE_AUTO)
        except (OSError, ValueError, RuntimeError) as exc:  # InvalidDatabaseError is one
            self.reader = None
            # Said on /ready to anyone: why, not where (the log has the whole message).
            self.error = f"cannot be read: {_why(exc)}"
            log.warning("geoip: %s %s (%s: %s)", self.setting, self.error, type(exc).__name__, exc)
        else:
            self.error = ""
        self.signature = signature  # a bad file is tried again once it changes

    def changed(self) -> bool:
        try:
            return self._stat() != self.signature
        except OSError:
            return self.signature is not None  # it was there; it is gone

    def get(self, address: str) -> Any:
        reader = self.reader  # a reopen swaps the attribute; this lookup keeps its reader
        if reader is None:
            return None
        try:
            return reader.get(address)
        except (ValueError, RuntimeError):  # an IPv6 address in an IPv4 file; a bad record
            return None

    def describe(self) -> str:
        if self.reader is None:
            return self.error
        meta = self.reader.metadata()
        built = datetime.fromtimestamp(meta.build_epoch, UTC).date().isoformat()
        return f"{meta.database_type} built {built}"


class GeoIP:
    """The process's databases and its answer cache."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # reopening
        self._cache_lock = threading.Lock()  # the LRU's order (threads of one process)
        self._city: _Database | None = None
        self._asn: _Database | None = None
        self._configured: tuple[str, str] | None = None
        self._checked = 0.0
        self._cache: OrderedDict[str, Place | None] = OrderedDict()
        self.lookups = 0  # database lookups made (not cache hits): what tests count

    @staticmethod
    def _settings() -> tuple[str, str]:
        return (settings.GEOIP_DATABASE or "", settings.GEOIP_ASN_DATABASE or "")

    def refresh(self) -> GeoIP:
        """Reopen what changed: the settings now, a file at most every recheck period.
        Cheap enough to call once per batch."""
        configured = self._settings()
        period = float(settings.GEOIP_RECHECK_SECONDS)
        if configured == self._configured and time.monotonic() - self._checked < period:
            return self
        with self._lock:
            if configured != self._configured:
                self._city = _Database("GEOIP_DATABASE", configured[0]) if configured[0] else None
                self._asn = (
                    _Database("GEOIP_ASN_DATABASE", configured[1]) if configured[1] else None
                )
                self._configured = configured
                self._cache = OrderedDict()
            else:
                for database in (self._city, self._asn):
                    if database is not None and database.changed():
                        database.open()
                        self._cache = OrderedDict()
            self._checked = time.monotonic()
        return self

    @property
    def on(self) -> bool:
        return any(d is not None and d.reader is not None for d in (self._city, self._asn))

    def status(self) -> tuple[bool, str]:
        """(healthy, what to say): off, on with each file's type and build date, or why a
        configured file cannot be read."""
        self.refresh()
        if self._city is None and self._asn is None:
            return True, OFF_MESSAGE
        said = [f"{d.setting}: {d.describe()}" for d in (self._city, self._asn) if d is not None]
        healthy = all(d.reader is not None for d in (self._city, self._asn) if d is not None)
        return healthy, ("on: " if healthy else "error: ") + "; ".join(said)

    def why_off(self) -> str:
        """What pages say when no database answers ("" when one does)."""
        healthy, said = self.status()
        if self.on:
            return ""
        return said if healthy else f"Geolocation is unavailable ({said.removeprefix('error: ')})"

    def lookup(self, address: str | None) -> Place | None:
        """The place of a public address, or None (off, not public, not in the file)."""
        city, asn = self._city, self._asn
        if not address or (city is None and asn is None):
            return None
        with self._cache_lock:
            cache = self._cache
            if address in cache:
                cache.move_to_end(address)
                return cache[address]
        place = None
        if is_public(address):
            self.lookups += 1
            place = place_of(
                city.get(address) if city is not None else None,
                asn.get(address) if asn is not None else None,
            )
        limit = max(1, int(settings.GEOIP_CACHE_SIZE))
        with self._cache_lock:
            cache[address] = place
            while len(cache) > limit:
                cache.popitem(last=False)
        return place

    def cached(self) -> int:
        return len(self._cache)

    def forget(self) -> None:
        """Close nothing, drop everything (tests: another settings' database)."""
        with self._lock:
            self._city = self._asn = None
            self._configured = None
            self._checked = 0.0
            self._cache = OrderedDict()
            self.lookups = 0


geoip = GeoIP()


def locate(address: str | None) -> Place | None:
    """The place of ``address`` by the databases as they are now (pages)."""
    return geoip.refresh().lookup(address)
