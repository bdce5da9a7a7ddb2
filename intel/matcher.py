"""Matching events against indicators: an immutable in-process index and the event fields
it reads.

The index is built from a list of ``Indicator`` (``intel.indicator_set`` reads them from
the database and decides when to rebuild); matching an event is a handful of dictionary
lookups per value, never a query:

- IP addresses and CIDR ranges: one hash table per prefix length present (address masked
  to the length, then looked up), so an address meets every range containing it, from
  the /32 (/128) of an exact IP indicator up to the widest range, in as many lookups as
  there are distinct prefix lengths among the indicators (rarely more than 20);
- domains: the event's name, then its parents, label by label from the left (a subdomain
  of an indicator domain matches; the parent of one does not), at most MAX_LABELS;
- URLs, e-mail addresses, hashes and TLS fingerprints: exact, after the same
  normalization as the indicator (``intel.services.indicator``) and lower case.

Values are normalized on the event side exactly as indicators are, so "1.2.3.4",
"EVIL.example." and a URL with an upper-case host meet their indicators.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from socket import AF_INET, AF_INET6, inet_pton
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from .choices import IocType
from .normalize import indicator, network_bits

MAX_LABELS = 10  # parents of a domain looked up at most (a.b.c.d.e... is bounded)
MAX_VALUE_LENGTH = 2048  # longer values are not indicators (and are not read)
MAX_LIST_ITEMS = 16  # items of one list field read at most

# What kind of value each field carries: ECS names, then the names sources keep (Sysmon
# and Windows Security, Suricata EVE, Zeek). "host": a domain name or an IP address.
FIELDS: dict[str, str] = {
    "source.ip": "ip",
    "destination.ip": "ip",
    "client.ip": "ip",
    "server.ip": "ip",
    "host.ip": "ip",
    "source.nat.ip": "ip",
    "destination.nat.ip": "ip",
    "dns.resolved_ip": "ip",
    "related.ip": "ip",
    "source.domain": "host",
    "destination.domain": "host",
    "client.domain": "host",
    "server.domain": "host",
    "dns.question.name": "host",
    "url.domain": "host",
    "tls.client.server_name": "host",
    "url.full": "url",
    "url.original": "url",
    "http.request.referrer": "url",
    "email.from.address": "email",
    "email.to.address": "email",
    "email.cc.address": "email",
    "email.sender.address": "email",
    "email.reply_to.address": "email",
    "user.email": "email",
    "file.hash.md5": "hash",
    "file.hash.sha1": "hash",
    "file.hash.sha256": "hash",
    "process.hash.md5": "hash",
    "process.hash.sha1": "hash",
    "process.hash.sha256": "hash",
    "dll.hash.sha256": "hash",
    "related.hash": "hash",
    "tls.client.ja3": "ja3",
    "tls.client.ja4": "ja4",
    # original names
    "SourceIp": "ip",
    "DestinationIp": "ip",
    "IpAddress": "ip",
    "src_ip": "ip",
    "dest_ip": "ip",
    "id.orig_h": "ip",
    "id.resp_h": "ip",
    "DestinationHostname": "host",
    "QueryName": "host",
    "Hashes": "hashes",
    "sha256": "hash",
    "md5": "hash",
}
HASH_TYPES = {32: IocType.MD5, 40: IocType.SHA1, 64: IocType.SHA256}
EXACT_KINDS = ("url", "email", "hash", "ja3", "ja4")
# The index bucket of each indicator type (IPs and CIDRs share the networks).
BUCKET_OF: dict[str, str] = {
    IocType.URL: "url",
    IocType.EMAIL: "email",
    IocType.MD5: "hash",
    IocType.SHA1: "hash",
    IocType.SHA256: "hash",
    IocType.JA3: "ja3",
    IocType.JA4: "ja4",
}
MATCHED_TYPES = frozenset([IocType.IPV4, IocType.IPV6, IocType.CIDR, IocType.DOMAIN, *BUCKET_OF])


@dataclass(frozen=True, slots=True)
class Indicator:
    """What matching and alerting need of an active IOC."""

    id: str
    ioc_type: str
    value: str
    confidence: float
    since: float  # epoch seconds its age is counted from (its feed's last sighting)
    expires: float | None  # epoch seconds; past it, it no longer matches
    feed: str
    feed_id: str
    tlp: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    indicator: Indicator
    field: str
    value: str  # the event's value, as it was normalized for matching


def decayed(confidence: float, age_seconds: float, half_life_days: float) -> float:
    """``confidence`` halved every ``half_life_days`` of age (0 or less: no decay)."""
    if half_life_days <= 0 or age_seconds <= 0:
        return confidence
    return confidence * math.pow(0.5, age_seconds / (half_life_days * 86400.0))


@dataclass
class IndicatorIndex:
    """The active indicators of one version of the set, ready to match."""

    version: str = ""
    # IP version -> prefix length -> network (as an integer) -> indicators
    networks: dict[int, dict[int, dict[int, list[Indicator]]]] = field(
        default_factory=lambda: {4: {}, 6: {}}
    )
    lengths: dict[int, list[int]] = field(default_factory=lambda: {4: [], 6: []})
    # per IP version: (bits to clear, the table of that prefix length), longest first
    prefixes: dict[int, list[tuple[int, dict[int, list[Indicator]]]]] = field(
        default_factory=lambda: {4: [], 6: []}
    )
    domains: dict[str, list[Indicator]] = field(default_factory=dict)
    exact: dict[str, dict[str, list[Indicator]]] = field(
        default_factory=lambda: {kind: {} for kind in EXACT_KINDS}
    )
    size: int = 0
    skipped: int = 0  # indicators whose value could not be read as their type

    # ---- building ---------------------------------------------------------------------

    def add(self, item: Indicator) -> bool:
        """File ``item``; False when its value is not one of its type (left out)."""
        kind = item.ioc_type
        try:
            if kind in (IocType.IPV4, IocType.IPV6, IocType.CIDR):
                bits = network_bits(item.value)
                if bits is None:
                    raise ValueError(item.value)
                version, prefix, network = bits
                self.networks[version].setdefault(prefix, {}).setdefault(network, []).append(item)
            elif kind == IocType.DOMAIN:
                self.domains.setdefault(item.value.lower().rstrip("."), []).append(item)
            elif kind in BUCKET_OF:
                key = _url_key(item.value) if kind == IocType.URL else item.value.lower()
                if key is None:
                    raise ValueError(item.value)
                self.exact[BUCKET_OF[kind]].setdefault(key, []).append(item)
            else:
                return False
        except ValueError:
            self.skipped += 1
            return False
        self.size += 1
        return True

    def seal(self) -> IndicatorIndex:
        """Done adding: the prefix lengths to try, longest (most specific) first."""
        for version, tables in self.networks.items():
            self.lengths[version] = sorted(tables, reverse=True)
            width = 32 if version == 4 else 128
            self.prefixes[version] = [(width - n, tables[n]) for n in self.lengths[version]]
        return self

    # ---- matching ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self.size

    def ids(self) -> set[str]:
        """The ids of the indicators held (to tell which a newer index adds)."""
        tables: list[dict[Any, list[Indicator]]] = [self.domains, *self.exact.values()]
        for by_length in self.networks.values():
            tables.extend(by_length.values())
        return {item.id for table in tables for items in table.values() for item in items}

    def match(
        self, doc: dict[str, Any], *, now: float, max_values: int, max_hits: int
    ) -> list[Match]:
        """The indicators ``doc`` carries, once per (indicator, field), at most
        ``max_hits``, from at most ``max_values`` of its values."""
        if not self.size:
            return []
        values = _values(doc)
        if len(values) > max_values:
            values = values[:max_values]
        found: list[Match] = []
        memo: dict[str, list[tuple[Indicator, str]]] = {}  # related.* repeats addresses
        for name, kind, value in values:
            if kind == "ip":
                candidates = memo.get(value)
                if candidates is None:
                    candidates = memo[value] = self._ip(value)
            else:
                candidates = list(self._lookup(kind, value))
            if candidates and self._keep(candidates, name, now, found, max_hits):
                break
        return _without_echoes(found) if found else found

    @staticmethod
    def _keep(
        candidates: list[tuple[Indicator, str]],
        name: str,
        now: float,
        found: list[Match],
        max_hits: int,
    ) -> bool:
        """Add the live candidates to ``found``, once per (indicator, field); True when
        ``max_hits`` is reached."""
        for item, normalized in candidates:
            if item.expires is not None and item.expires <= now:
                continue  # expired since the index was built
            if any(m.indicator.id == item.id and m.field == name for m in found):
                continue
            found.append(Match(item, name, normalized))
            if len(found) >= max_hits:
                return True
        return False

    def _lookup(self, kind: str, value: str) -> Iterator[tuple[Indicator, str]]:
        if kind == "ip":
            yield from self._ip(value)
        elif kind == "host":
            yield from self._host(value)
        elif kind == "url":
            key = _url_key(value)
            if key is not None:
                for item in self.exact["url"].get(key, ()):
                    yield item, key
                host = urlsplit(key).hostname
                if host:
                    yield from self._host(host)
        elif kind == "hashes":
            for digest in _sysmon_hashes(value):
                for item in self.exact["hash"].get(digest, ()):
                    yield item, digest
        else:
            key = value.lower()
            for item in self.exact[kind].get(key, ()):
                yield item, key

    def _ip(self, value: str) -> list[tuple[Indicator, str]]:
        """The indicators (addresses and ranges) containing the address ``value``; a
        list, not a generator: this is the hot path, and it is mostly empty."""
        found = _address(value)
        if found is None:
            return []
        version, number = found
        hits: list[tuple[Indicator, str]] = []
        for shift, table in self.prefixes[version]:
            items = table.get(number >> shift << shift)
            if items:
                text = _address_text(version, number)
                hits.extend((item, text) for item in items)
        return hits

    def _host(self, value: str) -> Iterator[tuple[Indicator, str]]:
        name = value.strip().rstrip(".").lower()
        if not name:
            return
        if name[0].isdigit() or name[0] == "[" or ":" in name:
            try:
                address = ipaddress.ip_address(name.strip("[]"))
            except ValueError:
                pass  # a name that starts with a digit (1password.com)
            else:
                yield from self._ip(str(address))
                return
        if not name.isascii():
            try:
                name = name.encode("idna").decode("ascii")
            except UnicodeError:
                return
        domains = self.domains
        shown = name
        labels = 0
        while domains and labels < MAX_LABELS:
            for item in domains.get(name, ()):
                yield item, shown
            _, dot, name = name.partition(".")
            if not dot:
                break
            labels += 1


def _without_echoes(found: list[Match]) -> list[Match]:
    """ECS ``related.*`` repeats values of other fields: a match there counts only for
    an indicator no other field carried."""
    elsewhere = {m.indicator.id for m in found if not m.field.startswith("related.")}
    if not elsewhere:
        return found
    return [
        m for m in found if not (m.field.startswith("related.") and m.indicator.id in elsewhere)
    ]


_MAPPED = b"\x00" * 10 + b"\xff\xff"


def _address(value: str) -> tuple[int, int] | None:
    """(IP version, the address as an integer) of an address's text, or None. inet_pton
    reads in a fraction of ipaddress's time (this runs for every address of every
    event); an IPv4-mapped IPv6 address is read as its IPv4 address."""
    if ":" not in value:
        try:
            return 4, int.from_bytes(inet_pton(AF_INET, value), "big")
        except OSError:
            return None
    try:
        packed = inet_pton(AF_INET6, value.strip("[]"))
    except OSError:
        return None
    if packed[:12] == _MAPPED:
        return 4, int.from_bytes(packed[12:], "big")
    return 6, int.from_bytes(packed, "big")


def _address_text(version: int, number: int) -> str:
    return str(ipaddress.IPv4Address(number) if version == 4 else ipaddress.IPv6Address(number))


def _url_key(value: str) -> str | None:
    """A URL as its indicator would be stored (``intel.services.indicator``), or None."""
    if "://" not in value:
        return None  # a path alone (url.original of many HTTP logs): no indicator's form
    try:
        return indicator("url", value).value
    except ValidationError:
        return None


def _sysmon_hashes(value: str) -> Iterator[str]:
    """The digests of Sysmon's ``Hashes`` ("SHA1=...,MD5=...,SHA256=...,IMPHASH=...")."""
    for part in value.split(",")[:8]:
        algorithm, _, digest = part.partition("=")
        digest = digest.strip().lower()
        if algorithm.strip().upper() != "IMPHASH" and len(digest) in HASH_TYPES:
            yield digest


# A field of the tree: its dotted name, its kind (a leaf) or None, and its children as
# (key, field) pairs (a branch). Built once; walking it concatenates no names.
_Field = tuple[str, str | None, tuple[tuple[str, Any], ...]]


def _tree(fields: dict[str, str]) -> dict[str, _Field]:
    """FIELDS as a tree by the dotted path's steps, with each whole dotted name at the top
    as well (flat JSON keeps ``"source.ip"`` as one key)."""
    nested: dict[str, Any] = {}
    for name, kind in fields.items():
        node = nested
        *steps, last = name.split(".")
        for step in steps:
            node = node.setdefault(step, {})
        node[last] = kind

    def field_of(name: str, node: Any) -> _Field:
        if isinstance(node, str):
            return (name, node, ())
        return (name, None, tuple((k, field_of(f"{name}.{k}", v)) for k, v in node.items()))

    top = {key: field_of(key, node) for key, node in nested.items()}
    for name, kind in fields.items():
        if "." in name:
            top.setdefault(name, (name, kind, ()))
    return top


TREE = _tree(FIELDS)
TOP_KEYS = frozenset(TREE)


def _values(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, kind, value) of each string value of the fields that carry indicators;
    lists give their first MAX_LIST_ITEMS items, over-long values are passed over.

    The event's top-level keys meet the tree's in C (a Windows event has 40 keys, the
    tree 40); below that, the tree's few children of a branch are looked up. Which values
    come first (when an event has more than the bound) is not specified."""
    out: list[tuple[str, str, str]] = []
    for key in doc.keys() & TOP_KEYS:
        value = doc[key]
        if value is not None:
            _take(value, TREE[key], out)
    return out


def _take(value: Any, field: _Field, out: list[tuple[str, str, str]]) -> None:
    name, kind, children = field
    if kind is not None:
        if type(value) is str:
            if 0 < len(value) <= MAX_VALUE_LENGTH:
                out.append((name, kind, value))
        elif type(value) is list:
            for item in value[:MAX_LIST_ITEMS]:
                if type(item) is str and 0 < len(item) <= MAX_VALUE_LENGTH:
                    out.append((name, kind, item))
    elif type(value) is dict:
        for key, child in children:
            sub = value.get(key)
            if sub is not None:
                _take(sub, child, out)
