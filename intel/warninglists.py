"""Warning lists: indicators that are known to be benign or too common to alert on.

``hit(ioc_type, value)`` answers the name of the first list a normalized indicator is on,
or None. Importers skip what is listed (and say which list); the matcher calls it too,
so an indicator on a list never alerts. The lists are:

- MISP's warning lists, as the pinned ``pymispwarninglists`` package ships them (public
  DNS resolvers, cloud ranges, top sites, known benign hashes, ...), each applied to
  the IOC types its ``matching_attributes`` name; lists with more than
  ``INTEL_WARNINGLISTS_MAX_ENTRIES`` entries (the top-million sites) are left out, as
  are those named in ``INTEL_WARNINGLISTS_DISABLED`` and MISP's two regex lists;
- ours: addresses that are not public (private, loopback, link-local, reserved, CGNAT,
  documentation ranges) and the organisation's own domains (``INTEL_OWN_DOMAINS``,
  subdomains included, also as the host of a URL or the domain of an e-mail address).

Everything is built once per process, on first use, into sets and sorted address
ranges: a lookup is a few set probes and one binary search per address family and
list, not a scan. ``reset()`` drops the built lists (tests change the settings).
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from .choices import IocType

PRIVATE_LIST = "socapp: private and reserved addresses"
OWN_DOMAINS_LIST = "socapp: the organisation's own domains"

IP_TYPES = (IocType.IPV4, IocType.IPV6, IocType.CIDR)
# MISP attribute types -> the IOC types a list naming them applies to.
MISP_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip"), IP_TYPES),
    **dict.fromkeys(("domain", "hostname", "hostname|port"), (IocType.DOMAIN,)),
    "url": (IocType.URL,),
    "uri": (IocType.URL,),
    **dict.fromkeys(("md5", "filename|md5", "x509-fingerprint-md5"), (IocType.MD5,)),
    **dict.fromkeys(("sha1", "filename|sha1", "x509-fingerprint-sha1"), (IocType.SHA1,)),
    **dict.fromkeys(("sha256", "filename|sha256", "x509-fingerprint-sha256"), (IocType.SHA256,)),
    **dict.fromkeys(
        ("email-src", "email-dst", "target-email", "whois-registrant-email", "dns-soa-email"),
        (IocType.EMAIL,),
    ),
}
# What a list without matching_attributes applies to, by its type.
DEFAULT_TYPES: dict[str, tuple[str, ...]] = {
    "cidr": IP_TYPES,
    "hostname": (IocType.DOMAIN, IocType.URL),
    "string": (IocType.DOMAIN, IocType.URL, IocType.EMAIL, IocType.MD5, IocType.SHA1,
               IocType.SHA256),
    "substring": (IocType.DOMAIN, IocType.URL),
}  # fmt: skip
BYTES_PER_ENTRY = 64  # a list file bigger than this per allowed entry is not even read


def data_directory() -> Path:
    import pymispwarninglists

    return Path(pymispwarninglists.__file__).parent / "data" / "misp-warninglists" / "lists"


@dataclass
class _Ranges:
    """One list's address ranges of one family, merged and sorted, as integers."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    def covers(self, first: int, last: int) -> bool:
        at = bisect.bisect_right(self.starts, first) - 1
        return at >= 0 and self.ends[at] >= last


def _merge(networks: Iterable[tuple[int, int]]) -> _Ranges:
    ranges = _Ranges()
    for first, last in sorted(networks):
        if ranges.ends and first <= ranges.ends[-1] + 1:
            ranges.ends[-1] = max(ranges.ends[-1], last)
        else:
            ranges.starts.append(first)
            ranges.ends.append(last)
    return ranges


@dataclass
class _Lists:
    ranges: list[tuple[str, _Ranges, _Ranges]] = field(default_factory=list)  # name, v4, v6
    # IOC type -> value -> list name (exact lists), hostname lists (value or parent).
    exact: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    hostnames: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    substrings: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    own_domains: frozenset[str] = frozenset()
    names: list[str] = field(default_factory=list)


def _types_of(document: dict[str, object], kind: str) -> set[str]:
    raw = document.get("matching_attributes")
    attributes = raw if isinstance(raw, list) else []
    types = {t for a in attributes if isinstance(a, str) for t in MISP_ATTRIBUTES.get(a, ())}
    return types if attributes else set(DEFAULT_TYPES.get(kind, ()))


def _networks(entries: list[str]) -> tuple[_Ranges, _Ranges]:
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    for entry in entries:
        try:
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            continue
        span = (int(network.network_address), int(network.broadcast_address))
        (v4 if network.version == 4 else v6).append(span)
    return _merge(v4), _merge(v6)


def _add_list(lists: _Lists, document: dict[str, object]) -> None:
    name, kind = str(document.get("name", "?")), str(document.get("type", ""))
    raw = document.get("list")
    entries = (
        [e.strip().lower() for e in raw if isinstance(e, str)] if isinstance(raw, list) else []
    )
    types = _types_of(document, kind)
    if kind == "cidr":
        v4, v6 = _networks(entries)
        lists.ranges.append((name, v4, v6))
    elif kind in ("string", "hostname"):
        target = lists.exact if kind == "string" else lists.hostnames
        for ioc_type in types:
            table = target[ioc_type]
            for entry in entries:
                table.setdefault(entry.lstrip(".") if kind == "hostname" else entry, name)
    elif kind == "substring":
        for ioc_type in types:
            lists.substrings[ioc_type].extend((entry, name) for entry in entries if entry)
    else:
        return  # regex lists: not read (see the module's docstring)
    lists.names.append(name)


def _load() -> _Lists:
    lists = _Lists()
    max_entries = settings.INTEL_WARNINGLISTS_MAX_ENTRIES
    disabled = set(settings.INTEL_WARNINGLISTS_DISABLED)
    if settings.INTEL_WARNINGLISTS_MISP:
        for path in sorted(data_directory().glob("*/list.json")):
            if path.stat().st_size > max_entries * BYTES_PER_ENTRY:
                continue
            document = json.loads(path.read_text(encoding="utf-8"))
            entries = document.get("list")
            if (
                not isinstance(entries, list)
                or len(entries) > max_entries
                or document.get("name") in disabled
            ):
                continue
            if path.parent.name in disabled:
                continue
            _add_list(lists, document)
    lists.own_domains = frozenset(d.strip().lower().rstrip(".") for d in settings.INTEL_OWN_DOMAINS)
    return lists


_built: _Lists | None = None
_lock = threading.Lock()


def _lists() -> _Lists:
    global _built
    if _built is None:
        with _lock:
            if _built is None:
                _built = _load()
    return _built


def reset() -> None:
    """Forget the built lists; the next lookup builds them from the settings again."""
    global _built
    with _lock:
        _built = None


def list_names() -> list[str]:
    """The MISP lists in use, by name (ours are always on)."""
    return list(_lists().names)


def _parents(domain: str) -> Iterable[str]:
    labels = domain.split(".")
    return (".".join(labels[at:]) for at in range(len(labels) - 1))


def _ip_hit(lists: _Lists, value: str) -> str | None:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    if not network.is_global or network.is_multicast:
        return PRIVATE_LIST
    first, last = int(network.network_address), int(network.broadcast_address)
    for name, v4, v6 in lists.ranges:
        if (v4 if network.version == 4 else v6).covers(first, last):
            return name
    return None


def _host_of(ioc_type: str, value: str) -> str | None:
    if ioc_type == IocType.DOMAIN:
        return value
    if ioc_type == IocType.EMAIL:
        return value.rpartition("@")[2]
    if ioc_type == IocType.URL:
        try:
            return (urlsplit(value).hostname or "").strip("[]") or None
        except ValueError:
            return None
    return None


def _url_address_hit(lists: _Lists, host: str) -> str | None:
    """A URL whose host is an address is on the lists its address is on."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return _ip_hit(lists, host)


def hit(ioc_type: str, value: str) -> str | None:
    """The name of the first warning list the (normalized) indicator is on, else None."""
    lists = _lists()
    if ioc_type in IP_TYPES:
        return _ip_hit(lists, value)
    lowered = value.lower()
    host = _host_of(ioc_type, lowered)
    if host and lists.own_domains and any(p in lists.own_domains for p in (host, *_parents(host))):
        return OWN_DOMAINS_LIST
    if ioc_type == IocType.URL and host:
        listed = _url_address_hit(lists, host)
        if listed:
            return listed
    name = lists.exact.get(ioc_type, {}).get(lowered)
    if name:
        return name
    if host:
        table = lists.hostnames.get(ioc_type, {})
        for candidate in (host, *_parents(host)):
            if candidate in table:
                return table[candidate]
    for needle, list_name in lists.substrings.get(ioc_type, ()):
        if needle in lowered:
            return list_name
    return None
