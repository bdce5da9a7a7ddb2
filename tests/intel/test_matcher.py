"""The matching index: every indicator type meets the event values it should, and only
those; bounds hold whatever the event carries."""

from __future__ import annotations

import time

import pytest

from intel.matcher import FIELDS, Indicator, IndicatorIndex, decayed

NOW = time.time()


def item(kind: str, value: str, *, pk: str | None = None, expires: float | None = None):
    return Indicator(
        id=pk or f"{kind}:{value}",
        ioc_type=kind,
        value=value,
        confidence=0.8,
        since=NOW,
        expires=expires,
        feed="feed",
        feed_id="1",
    )


def index_of(*items: Indicator) -> IndicatorIndex:
    index = IndicatorIndex()
    for one in items:
        index.add(one)
    return index.seal()


def hits(index: IndicatorIndex, doc: dict, **bounds) -> set[tuple[str, str]]:
    bounds = {"max_values": 64, "max_hits": 16, **bounds}
    return {(m.indicator.id, m.field) for m in index.match(doc, now=NOW, **bounds)}


def nested(path: str, value) -> dict:
    """``{"a": {"b": value}}`` for "a.b"; names of original fields stay whole."""
    doc: dict = {}
    node = doc
    *steps, last = path.split(".") if path[0].islower() else [path]
    for step in steps:
        node = node.setdefault(step, {})
    node[last] = value
    return doc


SHA1 = "ef" * 20
HASHES = f"MD5={'00' * 16},SHA1={SHA1.upper()},IMPHASH={'11' * 16}"
JA3 = "e7d705a3286e19ea42f587b344ee6865"


@pytest.mark.parametrize(
    ("kind", "value", "field", "seen"),
    [
        ("ipv4", "203.0.113.7", "source.ip", "203.0.113.7"),
        ("ipv4", "203.0.113.7", "related.ip", ["10.0.0.1", "203.0.113.7"]),
        ("ipv4", "203.0.113.7", "source.ip", "::ffff:203.0.113.7"),
        ("ipv6", "2001:db8::1", "source.ip", "2001:DB8:0::1"),
        ("cidr", "198.51.100.0/24", "destination.ip", "198.51.100.200"),
        ("cidr", "10.0.0.0/8", "DestinationIp", "10.200.3.4"),
        ("cidr", "2001:db8:abcd::/48", "client.ip", "2001:db8:abcd:12::5"),
        ("domain", "evil.example", "dns.question.name", "evil.example"),
        ("domain", "evil.example", "dns.question.name", "A.B.Evil.Example."),
        ("domain", "evil.example", "url.full", "https://cdn.evil.example/x"),
        ("domain", "evil.example", "QueryName", "www.evil.example"),
        ("url", "https://evil.example/a?b=1", "url.original", "HTTPS://EVIL.example/a?b=1#x"),
        ("email", "ceo@evil.example", "email.from.address", ["CEO@Evil.Example"]),
        ("sha256", "ab" * 32, "file.hash.sha256", "AB" * 32),
        ("md5", "cd" * 16, "process.hash.md5", "CD" * 16),
        ("sha1", SHA1, "Hashes", HASHES),
        ("ja3", JA3, "tls.client.ja3", JA3.upper()),
    ],
)
def test_each_type_matches_its_fields(kind, value, field, seen):
    one = item(kind, value)
    assert hits(index_of(one), nested(field, seen)) == {(one.id, field)}


def test_flat_dotted_keys_are_read_too():
    one = item("ipv4", "203.0.113.7")
    assert hits(index_of(one), {"destination.ip": "203.0.113.7"}) == {(one.id, "destination.ip")}


@pytest.mark.parametrize(
    ("indicator", "doc"),
    [
        (("domain", "a.evil.example"), {"dns": {"question": {"name": "evil.example"}}}),
        (("domain", "evil.example"), {"dns": {"question": {"name": "notevil.example"}}}),
        (("domain", "evil.example"), {"dns": {"question": {"name": "evil.example.com"}}}),
        (("cidr", "198.51.100.0/24"), {"source": {"ip": "198.51.101.1"}}),
        (("ipv4", "203.0.113.7"), {"source": {"ip": "203.0.113.70"}}),
        (("ipv4", "203.0.113.7"), {"message": "203.0.113.7"}),
        (("sha256", "ab" * 32), {"file": {"hash": {"sha256": "ab" * 31}}}),
        (("url", "https://evil.example/login"), {"url": {"full": "https://evil.example/logout"}}),
    ],
)
def test_near_misses_do_not_match(indicator, doc):
    """A parent of an indicator domain, a neighbour network, a longer address, a field
    that carries no indicators, a truncated hash."""
    assert hits(index_of(item(*indicator)), doc) == set()


def test_an_address_meets_every_range_that_contains_it():
    wide, narrow = item("cidr", "10.0.0.0/8"), item("cidr", "10.1.0.0/16")
    exact = item("ipv4", "10.1.2.3")
    index = index_of(wide, narrow, exact, item("cidr", "10.2.0.0/16"))
    assert hits(index, {"source": {"ip": "10.1.2.3"}}) == {
        (wide.id, "source.ip"), (narrow.id, "source.ip"), (exact.id, "source.ip")
    }  # fmt: skip


def test_an_expired_indicator_stops_matching_before_any_rebuild():
    gone = item("ipv4", "203.0.113.9", expires=NOW - 1)
    later = item("ipv4", "203.0.113.9", pk="later", expires=NOW + 3600)
    found = hits(index_of(gone, later), {"source": {"ip": "203.0.113.9"}})
    assert found == {("later", "source.ip")}


def test_values_checked_per_event_are_capped():
    """A hostile event with thousands of addresses costs at most max_values lookups."""
    index = index_of(item("ipv4", "203.0.113.250"))
    flat = {f"f{n}": "x" for n in range(5000)}
    many = {**flat, "related": {"ip": [f"203.0.113.{n}" for n in range(1, 251)]}}
    # lists are cut at 16 items: the indicator at position 250 is never read
    assert hits(index, many) == set()
    early = {"destination": {"ip": "203.0.113.250"}, "source": {"ip": "203.0.113.250"}}
    assert len(hits(index, early, max_values=1)) == 1
    assert len(hits(index, early, max_values=2)) == 2


def test_hits_per_event_are_capped():
    items = [item("cidr", f"10.0.0.0/{n}") for n in range(8, 33)]
    assert len(hits(index_of(*items), {"source": {"ip": "10.0.0.1"}}, max_hits=5)) == 5


def test_values_that_are_not_indicators_are_left_out_of_the_index():
    index = index_of(item("ipv4", "not-an-ip"), item("url", "nope"), item("user", "bob"))
    assert (len(index), index.skipped) == (0, 2)


def test_confidence_halves_every_half_life():
    assert decayed(0.8, 30 * 86400, 30) == pytest.approx(0.4)
    assert decayed(0.8, 60 * 86400, 30) == pytest.approx(0.2)
    assert decayed(0.8, 10**9, 0) == 0.8  # no decay for that type


def test_fields_cover_ecs_and_original_names():
    assert {"source.ip", "dns.question.name", "url.full", "file.hash.sha256"} <= set(FIELDS)
    assert {"DestinationIp", "QueryName", "Hashes", "src_ip", "id.resp_h"} <= set(FIELDS)
