"""Correlation state is incremental: the Redis work and the bytes read back per hit stay
the same whether a key holds 100 hits or thousands, for every correlation type. Counted on
a Redis server of the test's own (``INFO`` command and network counters, which are
server-wide), never timed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from correlation.engine.ruleset import active_ruleset
from correlation.engine.windows import MAX_LINKED, WORK, Windows
from correlation.services import rule_save
from socapp.kv import kv

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AUTH = "{product: linux, service: auth}"


def base_rule(name: str) -> None:
    rule_save(
        actor=None,
        definition=(
            f"title: {name}\nname: {name}\nlogsource: {AUTH}\nlevel: low\n"
            f"detection:\n  sel:\n    event.action: {name}\n  condition: sel\n"
        ),
    )


def correlation_spec(body: str, extra: str = "") -> Any:
    name = f"corr_{uuid.uuid4().hex[:8]}"
    rule = rule_save(
        actor=None,
        definition=f"title: {name}\nname: {name}\nlevel: high\ncorrelation:\n{body}{extra}",
    )
    ruleset = active_ruleset(force=True)
    return ruleset.rules[str(rule.pk)].correlation, {r.name: r.id for r in ruleset.rules.values()}


@dataclass
class Usage:
    commands: int
    output_bytes: int


def redis_usage() -> Usage:
    redis = kv()
    stats = redis.info("commandstats")
    commands = sum(v["calls"] for v in stats.values())
    return Usage(commands, int(redis.info("stats")["total_net_output_bytes"]))


def lookup_for(fields: dict[str, Any]):
    def lookup(name: str) -> Any:
        node: Any = fields
        for part in name.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    return lookup


# (correlation body, extra top-level YAML, the base rules, a hit's fields for hit n)
CASES: dict[str, tuple[str, str, list[str], Any]] = {
    "event_count": (
        "  type: event_count\n  rules: [failed]\n  group-by: [user.name]\n  timespan: 1d\n"
        "  condition: {gte: 100000}\n",
        "",
        ["failed"],
        lambda n: ("failed", {"user": {"name": "bob"}}),
    ),
    "value_count (the spraying rule's shape, one account)": (
        "  type: value_count\n  rules: [failed]\n  group-by: [source.ip]\n  timespan: 1d\n"
        "  condition: {gte: 10, field: user.name}\n",
        "",
        ["failed"],
        lambda n: ("failed", {"source": {"ip": "198.51.100.7"}, "user": {"name": "root"}}),
    ),
    "value_count (many values)": (
        "  type: value_count\n  rules: [failed]\n  group-by: [source.ip]\n  timespan: 1d\n"
        "  condition: {gte: 100000, field: user.name}\n",
        "",
        ["failed"],
        lambda n: ("failed", {"source": {"ip": "198.51.100.7"}, "user": {"name": f"u{n}"}}),
    ),
    "temporal": (
        "  type: temporal\n  rules: [failed, other]\n  group-by: [user.name]\n  timespan: 1d\n",
        "",
        ["failed", "other"],
        lambda n: ("failed", {"user": {"name": "bob"}}),
    ),
    "temporal_ordered": (
        "  type: temporal_ordered\n  rules: [other, failed]\n  group-by: [user.name]\n"
        "  timespan: 1d\n",
        "",
        ["failed", "other"],
        lambda n: ("failed", {"user": {"name": "bob"}}),
    ),
    "temporal condition": (
        "  type: temporal\n  rules: [failed, other]\n  group-by: [user.name]\n  timespan: 1d\n"
        "  condition: failed and other\n",
        "",
        ["failed", "other"],
        lambda n: ("failed", {"user": {"name": "bob"}}),
    ),
    "value_sum": (
        "  type: value_sum\n  rules: [failed]\n  group-by: [user.name]\n  timespan: 1d\n"
        "  condition: {gt: 1000000000, field: bytes}\n",
        "",
        ["failed"],
        lambda n: ("failed", {"user": {"name": "bob"}, "bytes": n % 7}),
    ),
    "value_avg": (
        "  type: value_avg\n  rules: [failed]\n  group-by: [user.name]\n  timespan: 1d\n"
        "  condition: {gt: 1000, field: bytes}\n",
        "",
        ["failed"],
        lambda n: ("failed", {"user": {"name": "bob"}, "bytes": n % 7}),
    ),
    "value_percentile": (
        "  type: value_percentile\n  rules: [failed]\n  group-by: [user.name]\n"
        "  timespan: 1d\n  condition: {gt: 1000, field: bytes, percentile: 95}\n",
        "",
        ["failed"],
        lambda n: ("failed", {"user": {"name": "bob"}, "bytes": n % 97}),
    ),
    "value_median": (
        "  type: value_median\n  rules: [failed]\n  group-by: [user.name]\n  timespan: 1d\n"
        "  condition: {gt: 1000, field: bytes}\n",
        "",
        ["failed"],
        lambda n: ("failed", {"user": {"name": "bob"}, "bytes": n % 97}),
    ),
    "event_count with max_jitter (beacons)": (
        "  type: event_count\n  rules: [failed]\n  group-by: [user.name]\n  timespan: 1d\n"
        "  condition: {gte: 30}\n",
        "socapp:\n  max_jitter: 0.01\n",
        ["failed"],
        lambda n: ("failed", {"user": {"name": "bob"}}),
    ),
}


def feed(spec: Any, ids: dict[str, str], case: Any, hits: range) -> None:
    for n in hits:
        child, fields = case(n)
        # irregular spacing, all inside one window: nothing ever fires
        seconds = n * 7 + (n * n) % 5
        result = Windows(spec).feed(
            ids[child], str(uuid.uuid4()), T0 + timedelta(seconds=seconds), lookup_for(fields)
        )
        assert result.firings == [] and result.late == 0


def per_hit(spec: Any, ids: dict[str, str], case: Any, hits: range) -> tuple[float, float, float]:
    WORK.reset()
    before = redis_usage()
    feed(spec, ids, case, hits)
    after = redis_usage()
    count = len(hits)
    return (
        (after.commands - before.commands) / count,
        (after.output_bytes - before.output_bytes) / count,
        WORK.decoded / count,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(CASES))
def test_work_per_hit_does_not_grow_with_the_hits_a_key_holds(own_redis, reference_data, name):
    body, extra, bases, case = CASES[name]
    for base in bases:
        base_rule(base)
    spec, ids = correlation_spec(body, extra)
    feed(spec, ids, case, range(100))
    small = per_hit(spec, ids, case, range(100, 200))  # a key holding 100-200 hits
    feed(spec, ids, case, range(200, 2000))
    large = per_hit(spec, ids, case, range(2000, 2100))  # holding 2,000-2,100 hits
    commands_small, bytes_small, decoded_small = small
    commands_large, bytes_large, decoded_large = large
    # the same Redis commands per hit, and the same bytes back, 20 times the state later
    assert commands_large <= commands_small + 0.5, (small, large)
    assert bytes_large <= bytes_small * 1.2 + 64, (small, large)
    assert decoded_large <= 2 and decoded_small <= 2, (small, large)


@pytest.mark.django_db
def test_a_key_keeps_at_most_the_configured_hits(reference_data, settings):
    settings.CORRELATION_MAX_KEY_HITS = 300
    body, extra, _, case = CASES["event_count"]
    base_rule("failed")
    spec, ids = correlation_spec(body, extra)
    feed(spec, ids, case, range(1000))
    (members,) = list(kv().scan_iter(f"socapp:corr:{spec.rule_id}:*:m"))
    assert kv().zcard(members) == 300
    # the running count follows the cap: the window holds what is kept
    (state,) = list(kv().scan_iter(f"socapp:corr:{spec.rule_id}:*:h"))
    assert int(kv().hget(state, "n")) <= 300


@pytest.mark.django_db
def test_a_stored_firing_is_bounded_however_long_its_values(reference_data):
    base_rule("failed")
    spec, ids = correlation_spec(
        "  type: value_count\n  rules: [failed]\n  group-by: [source.ip]\n  timespan: 1d\n"
        "  condition: {gte: 1500, field: user.name}\n"
    )
    for n in range(1500):
        fields = {"source": {"ip": "198.51.100.7"}, "user": {"name": f"{n}-" + "x" * 5000}}
        result = Windows(spec).feed(
            ids["failed"], str(uuid.uuid4()), T0 + timedelta(seconds=n), lookup_for(fields)
        )
    (firing,) = result.firings
    assert firing.metric == 1500 and len(firing.members) == MAX_LINKED
    (stored,) = list(kv().scan_iter(f"socapp:corr:{spec.rule_id}:*:fired"))
    # 1,000 linked hits of at most ~300 bytes each, not 1,500 values of 5 KB
    assert kv().strlen(stored) < MAX_LINKED * 300
