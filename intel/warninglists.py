"""Warning lists: indicators that are known to be benign or too common to alert on.

``hit(ioc_type, value)`` answers the name of the first list a normalized indicator is on,
or None. Importers skip what is listed (and say which list); the matcher calls it too,
so an indicator on a list never alerts. The lists are:

- MISP's warning lists, as the pinned ``pymispwarninglists`` package ships them (public
  DNS resolvers, CDN ranges, top sites, known benign hashes, ...), each applied to
  the IOC types its ``matching_attributes`` name; lists with more than
  ``INTEL_WARNINGLISTS_MAX_ENTRIES`` entries (the top-million sites) are left out, as
  are those named in ``INTEL_WARNINGLISTS_DISABLED`` and MISP's two regex lists;
- ours: addresses that are not public (private, loopback, link-local, reserved, CGNAT,
  documentation ranges) and the organisation's own domains (``INTEL_OWN_DOMAINS``,
  subdomains included, also as the host of a URL or the domain of an e-mail address).

A SIEM must not let a warning list blind it to attacker infrastructure, so MISP's lists
are read narrowly (docs/INTEL.md, "Warning lists"):

- a name in a domain list covers its subdomains only when written with a leading dot
  (MISP's convention): ``blogspot.com`` on a top-sites list is the site, not every blog;
- a URL is on a domain list only when it is the site's root: a path on a listed site
  (``https://github.com/<someone>/<release>.exe``) is content anyone may have put there;
- substring lists are matched against the host, not the whole URL an attacker chooses;
- the lists named in ``INTEL_WARNINGLISTS_CONTEXT`` (rented address space such as cloud,
  VPN and hosting ranges; platforms whose subdomains belong to anyone, such as dynamic
  DNS) never suppress: ``context_lists()`` names them for the indicator's page.

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from .choices import IocType
from .normalize import network_bits

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

    def meets(self, first: int, last: int) -> bool:
        """Some range shares at least one address with first..last."""
        at = bisect.bisect_right(self.starts, last) - 1
        return at >= 0 and self.ends[at] >= first


def _merge(networks: Iterable[tuple[int, int]]) -> _Ranges:
    ranges = _Ranges()
    for first, last in sorted(networks):
        if ranges.ends and first <= ranges.ends[-1] + 1:
            ranges.ends[-1] = max(ranges.ends[-1], last)
        else:
            ranges.starts.append(first)
            ranges.ends.append(last)
    return ranges


# Special-purpose space that is not globally reachable (the IANA registries): private,
# shared (CGNAT), loopback, link-local, documentation, benchmarking, multicast, reserved.
_NOT_GLOBAL_V4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
)
_NOT_GLOBAL_V6 = (
    "::/127", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
)  # fmt: skip


def _spans_of(networks: Iterable[str]) -> _Ranges:
    return _merge(
        (int(n.network_address), int(n.broadcast_address))
        for n in map(ipaddress.ip_network, networks)
    )


NOT_GLOBAL = (_spans_of(_NOT_GLOBAL_V4), _spans_of(_NOT_GLOBAL_V6))


@dataclass
class _Lists:
    ranges: list[tuple[str, _Ranges, _Ranges]] = field(default_factory=list)  # name, v4, v6
    # Every range of every list, merged: most addresses are on no list, and one binary
    # search says so (a list covers a network only if the union does).
    union: tuple[_Ranges, _Ranges] = field(default_factory=lambda: (_Ranges(), _Ranges()))
    # IOC type -> name -> list name: the name itself (exact) or it and its subdomains.
    exact: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    subtrees: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    substrings: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    names: list[str] = field(default_factory=list)


@dataclass
class _Built:
    suppressing: _Lists = field(default_factory=_Lists)
    context: _Lists = field(default_factory=_Lists)
    own_domains: frozenset[str] = frozenset()


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


def _add_names(lists: _Lists, types: set[str], entries: list[str], name: str) -> None:
    for ioc_type in types:
        exact, subtrees = lists.exact[ioc_type], lists.subtrees[ioc_type]
        for entry in entries:
            if entry.startswith("."):
                subtrees.setdefault(entry.lstrip("."), name)
            else:
                exact.setdefault(entry, name)


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
        _add_names(lists, types, entries, name)
    elif kind == "substring":
        for ioc_type in types:
            lists.substrings[ioc_type].extend((entry, name) for entry in entries if entry)
    else:
        return  # regex lists: not read (see the module's docstring)
    lists.names.append(name)


def _misp_documents() -> Iterable[tuple[str, dict[str, object]]]:
    """(directory, document) of each MISP list in use, smallest cost first: a file too
    big for the entry limit is not even read."""
    max_entries = settings.INTEL_WARNINGLISTS_MAX_ENTRIES
    disabled = set(settings.INTEL_WARNINGLISTS_DISABLED)
    for path in sorted(data_directory().glob("*/list.json")):
        if path.parent.name in disabled or path.stat().st_size > max_entries * BYTES_PER_ENTRY:
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = document.get("list")
        fits = isinstance(entries, list) and len(entries) <= max_entries
        if fits and document.get("name") not in disabled:
            yield path.parent.name, document


def _unite(lists: _Lists) -> None:
    v4 = [span for _, r4, _ in lists.ranges for span in zip(r4.starts, r4.ends, strict=True)]
    v6 = [span for _, _, r6 in lists.ranges for span in zip(r6.starts, r6.ends, strict=True)]
    lists.union = (_merge(v4), _merge(v6))


def _load() -> _Built:
    built = _Built()
    context = set(settings.INTEL_WARNINGLISTS_CONTEXT)
    if settings.INTEL_WARNINGLISTS_MISP:
        for directory, document in _misp_documents():
            informs = directory in context or document.get("name") in context
            _add_list(built.context if informs else built.suppressing, document)
    _unite(built.suppressing)
    _unite(built.context)
    built.own_domains = frozenset(d.strip().lower().rstrip(".") for d in settings.INTEL_OWN_DOMAINS)
    return built


_built: _Built | None = None
_lock = threading.Lock()


def _lists() -> _Built:
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
    """The MISP lists that suppress, by name (ours are always on)."""
    return list(_lists().suppressing.names)


def context_list_names() -> list[str]:
    """The MISP lists that only inform (``INTEL_WARNINGLISTS_CONTEXT``), by name."""
    return list(_lists().context.names)


def _parents(domain: str) -> Iterable[str]:
    labels = domain.split(".")
    return (".".join(labels[at:]) for at in range(len(labels) - 1))


def _span(value: str) -> tuple[int, int, int] | None:
    """(0 for IPv4 or 1 for IPv6, first address, last address) of an address or network."""
    bits = network_bits(value)
    if bits is None:
        return None
    version, prefix, first = bits
    host_bits = (32 if version == 4 else 128) - prefix
    return int(version == 6), first, first | ((1 << host_bits) - 1)


def _ip_lists(lists: _Lists, value: str) -> Iterator[str]:
    span = _span(value)
    if span is None:
        return
    family, first, last = span
    if not lists.union[family].covers(first, last):
        return
    for name, *ranges in lists.ranges:
        if ranges[family].covers(first, last):
            yield name


def _is_private(value: str) -> bool:
    """The address or network is, or reaches into, space that is not globally routable
    (a range that contains private addresses would match the organisation's own)."""
    span = _span(value)
    return span is not None and NOT_GLOBAL[span[0]].meets(span[1], span[2])


def _host_of(ioc_type: str, value: str) -> str | None:
    """The host whose lists apply: a domain itself, an e-mail address's domain, a URL's
    host only when the URL is the site's root (a path is anyone's content)."""
    if ioc_type == IocType.DOMAIN:
        return value
    if ioc_type == IocType.EMAIL:
        return value.rpartition("@")[2]
    if ioc_type == IocType.URL:
        try:
            parts = urlsplit(value)
            host = (parts.hostname or "").strip("[]")
        except ValueError:
            return None
        at_root = parts.path in ("", "/") and not parts.query and not parts.fragment
        return host if host and at_root else None
    return None


def _url_address(value: str) -> str | None:
    """The address a URL's host is written as, if it is one."""
    try:
        host = (urlsplit(value).hostname or "").strip("[]")
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _name_lists(lists: _Lists, ioc_type: str, lowered: str, host: str | None) -> Iterator[str]:
    name = lists.exact.get(ioc_type, {}).get(lowered)
    if name:
        yield name
    if not host:
        return
    if host != lowered and (name := lists.exact.get(ioc_type, {}).get(host)):
        yield name
    subtrees = lists.subtrees.get(ioc_type, {})
    for candidate in (host, *_parents(host)):
        if candidate in subtrees:
            yield subtrees[candidate]
    for needle, list_name in lists.substrings.get(ioc_type, ()):
        if needle in host:
            yield list_name


def _on(lists: _Lists, ioc_type: str, value: str, anywhere: bool = False) -> Iterator[str]:
    """Every list of ``lists`` the indicator is on, in the order they were read; with
    ``anywhere``, a URL's host counts wherever in the site the URL points."""
    if ioc_type in IP_TYPES:
        yield from _ip_lists(lists, value)
        return
    lowered = value.lower()
    host = _any_host(ioc_type, lowered) if anywhere else _host_of(ioc_type, lowered)
    if ioc_type == IocType.URL and host and (address := _url_address(lowered)):
        yield from _ip_lists(lists, address)  # a path on a listed address: as for a name
    yield from _name_lists(lists, ioc_type, lowered, host)


def _any_host(ioc_type: str, lowered: str) -> str | None:
    """The host an indicator names, wherever in the site a URL points."""
    if ioc_type == IocType.URL:
        try:
            return (urlsplit(lowered).hostname or "").strip("[]") or None
        except ValueError:
            return None
    return _host_of(ioc_type, lowered)


def _ours(built: _Built, ioc_type: str, value: str) -> str | None:
    """Our own lists: addresses that are not public, the organisation's domains (a URL
    on them anywhere, not only at the root: the organisation's sites are its own)."""
    if ioc_type in IP_TYPES:
        return PRIVATE_LIST if _is_private(value) else None
    lowered = value.lower()
    if ioc_type == IocType.URL and (address := _url_address(lowered)) and _is_private(address):
        return PRIVATE_LIST
    host = _any_host(ioc_type, lowered)
    own = built.own_domains
    if host and own and any(p in own for p in (host, *_parents(host))):
        return OWN_DOMAINS_LIST
    return None


def hit(ioc_type: str, value: str) -> str | None:
    """The name of the first warning list the (normalized) indicator is on, else None."""
    built = _lists()
    return _ours(built, ioc_type, value) or next(_on(built.suppressing, ioc_type, value), None)


def context_lists(ioc_type: str, value: str) -> list[str]:
    """The informing lists (``INTEL_WARNINGLISTS_CONTEXT``) the indicator is on: shown
    on its page, never a reason to skip or stay silent."""
    return list(dict.fromkeys(_on(_lists().context, ioc_type, value, anywhere=True)))
