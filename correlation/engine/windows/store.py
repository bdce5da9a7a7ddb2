"""What a correlation key keeps in Redis, and the two scripts a hit costs.

Per (rule, group key), under ``{namespace}:{rule id}:{digest of the key}``:

- ``:m`` a sorted set of the hits (score: event time; member: JSON of event id, rule id
  and the value counted - equal times sort by event id, the order windows use);
- ``:h`` a small hash: the newest time, the greatest hit, where the current window
  starts, the last firing's window and the current window's running figures;
- ``:v`` counters per value (or per rule) in the current window; ``:o`` the current
  window's values as a sorted set (percentiles); ``:fired`` the last firing; ``:g`` the
  group values; ``:lock`` the per-key lock.

A hit is one ``READ`` (take the lock, read the hash, whether the hit is known, the hits
leaving the window, the counters they touch) and one ``WRITE`` (the hit, the figures, a
firing if there is one, let go of the lock): two round trips, whatever the key holds.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from django.conf import settings

from socapp.kv import kv, text

from ..runs import Member

PREFIX = "socapp:corr"
# The live engine's windows live under PREFIX; a backtest keeps its own in a scratch
# namespace (see ``scratch_namespace``) so it neither reads nor disturbs live state.
_namespace: ContextVar[str] = ContextVar("correlation_namespace", default=PREFIX)

MAX_LINKED = 1000  # events linked to one correlation (the alert says how many in all)
LOCK_MS = 30_000  # a key's lock expires by itself if its worker dies holding it
LOCK_WAIT = 30.0  # seconds a hit waits for a key another worker holds


def prefix() -> str:
    return _namespace.get()


def timers_key() -> str:
    return f"{_namespace.get()}:timers"


def watermark_key() -> str:
    return f"{_namespace.get()}:wm"  # a sorted set: ZADD GT keeps the newest in one command


@contextmanager
def scratch_namespace() -> Iterator[str]:
    """Keep correlation windows in a private namespace for the duration; dropped after."""
    name = f"socapp:scratch:{uuid.uuid4().hex}"
    token = _namespace.set(name)
    try:
        yield name
    finally:
        _namespace.reset(token)
        redis = kv()
        for key in redis.scan_iter(f"{name}:*", count=1000):
            redis.delete(key)


def lateness() -> int:
    return int(getattr(settings, "CORRELATION_ALLOWED_LATENESS", 300))


def max_key_hits() -> int:
    return int(getattr(settings, "CORRELATION_MAX_KEY_HITS", 10_000))


@dataclass
class WorkCount:
    """What the windows did, for the tests and the bench that prove it stays bounded."""

    hits: int = 0
    decoded: int = 0  # stored hits read back and decoded

    def reset(self) -> None:
        self.hits = self.decoded = 0


WORK = WorkCount()


@dataclass
class Firing:
    rule_id: str
    group_key: str
    group_values: dict[str, Any]
    window_start: datetime
    window_end: datetime
    members: list[Member]
    metric: float
    at: datetime  # event time of the hit that decided it (or the window's end)


def encode(member: Member) -> str:
    return json.dumps([member.event_id, member.rule_id, member.value], default=str)


def decode(raw: bytes | str, score: float) -> Member:
    WORK.decoded += 1
    event_id, rule_id, value = json.loads(raw)[:3]
    return Member(event_id, rule_id, value, float(score))


def decode_rows(rows: list[Any]) -> list[Member]:
    """Members from a flat [member, score, member, score...] reply (the scripts')."""
    return [decode(rows[i], float(rows[i + 1])) for i in range(0, len(rows), 2)]


def firing_json(firing: Firing) -> str:
    return json.dumps(
        {
            "rule_id": firing.rule_id,
            "group_key": firing.group_key,
            "group_values": firing.group_values,
            "start": firing.window_start.timestamp(),
            "end": firing.window_end.timestamp(),
            "members": [[m.event_id, m.rule_id, m.value, m.ts] for m in firing.members],
            "metric": firing.metric,
            "at": firing.at.timestamp(),
        },
        default=str,
    )


def firing_from(text: bytes | str) -> Firing:
    data = json.loads(text)
    WORK.decoded += len(data["members"])
    return Firing(
        rule_id=data["rule_id"],
        group_key=data["group_key"],
        group_values=data["group_values"],
        window_start=datetime.fromtimestamp(data["start"], tz=UTC),
        window_end=datetime.fromtimestamp(data["end"], tz=UTC),
        members=[Member(e, r, v, t) for e, r, v, t in data["members"]],
        metric=data["metric"],
        at=datetime.fromtimestamp(data["at"], tz=UTC),
    )


def bound(value: float) -> str:
    """A score bound as Redis reads it (exact: Python's repr round-trips a float)."""
    return "-inf" if value == -math.inf else "+inf" if value == math.inf else repr(value)


@dataclass
class State:
    """The small per-key hash: where the current window starts and its running figures."""

    newest: float = 0.0
    last: tuple[float, str] | None = None  # the greatest hit (time, member) ever added
    start: float = -math.inf  # the current window holds the hits at or after this time
    fired: tuple[float, float] | None = None  # the last firing's window
    count: int = 0
    distinct: int = 0
    total: Fraction = field(default_factory=Fraction)
    gap_sum: int = 0
    gap_squares: int = 0
    chains: list[float | None] = field(default_factory=list)  # temporal_ordered
    opened: float | None = None  # the open window of a condition decided at close

    @classmethod
    def parse(cls, reply: list[bytes] | Mapping[bytes | str, bytes | str]) -> State:
        """From HGETALL's reply: a flat list (in a script) or a dict (redis-py's)."""
        pairs = (
            reply.items()
            if isinstance(reply, Mapping)
            else zip(reply[::2], reply[1::2], strict=True)
        )
        raw = {text(k): text(v) for k, v in pairs}
        get = raw.get
        last, fired, opened = get("last"), get("fired"), get("op")
        return cls(
            newest=float(get("x") or 0.0),
            last=tuple(json.loads(last)) if last else None,
            start=float(get("b") or -math.inf),
            fired=tuple(json.loads(fired)) if fired else None,
            count=int(get("n") or 0),
            distinct=int(get("d") or 0),
            total=Fraction(get("s") or 0),
            gap_sum=int(get("gs") or 0),
            gap_squares=int(get("gq") or 0),
            chains=json.loads(get("t") or "[]"),
            opened=float(opened) if opened else None,
        )

    def dump(self) -> list[str]:
        fields = {
            "x": repr(self.newest),
            "last": json.dumps(self.last) if self.last else "",
            "b": bound(self.start),
            "fired": json.dumps(self.fired) if self.fired else "",
            "n": str(self.count),
            "d": str(self.distinct),
            "s": str(self.total),
            "gs": str(self.gap_sum),
            "gq": str(self.gap_squares),
            "t": json.dumps(self.chains),
            "op": repr(self.opened) if self.opened is not None else "",
        }
        return [item for pair in fields.items() for item in pair]


@dataclass
class Plan:
    """Changes to a key, applied by one WRITE."""

    hit: tuple[float, str] | None = None  # (time, member) to add
    counters: dict[str, int] = field(default_factory=dict)  # value -> change
    ordered_add: dict[str, float] = field(default_factory=dict)
    ordered_remove: list[str] = field(default_factory=list)
    reset: bool = False
    firing: Firing | None = None
    timer_add: tuple[str, float] | None = None  # (timer, due) of a window decided at close
    timer_remove: str | None = None

    def clear_figures(self) -> None:
        self.counters.clear()
        self.ordered_add.clear()
        self.ordered_remove.clear()
        self.reset = True


@dataclass
class Read:
    """What READ says of a key for one hit (the rest - the hits leaving the window, the
    counters they touch - is kept on the key while the hit holds it)."""

    state: State
    known: bool  # the hit is stored already (a replay)


# KEYS: lock, h, m, v. ARGV: token, lock ms, member, low (exclusive bound of the leavers,
# "" for none), whether to bring the first hit after it, counter mode ("value", "rule"
# or ""), the hit's own label. The label of a stored hit is cut from its JSON text (the
# value, or the rule id), byte for byte what the engine's labels are.
READ_SCRIPT = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local state = redis.call('HGETALL', KEYS[2])
local known = redis.call('ZSCORE', KEYS[3], ARGV[3])
local leaving, following = {}, {}
local mode = ARGV[6]
local labels = {}
if ARGV[7] ~= '' then labels[ARGV[7]] = true end
if ARGV[4] ~= '' then
  local start = '-inf'
  for i = 1, #state, 2 do if state[i] == 'b' then start = state[i + 1] end end
  if start ~= '-inf' and tonumber(start) < tonumber(ARGV[4]) then
    leaving = redis.call('ZRANGEBYSCORE', KEYS[3], start, '(' .. ARGV[4], 'WITHSCORES')
    if ARGV[5] == '1' then
      following = redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[4], '+inf', 'WITHSCORES',
                             'LIMIT', 0, 1)
    end
    if mode == 'value' then
      for i = 1, #leaving, 2 do
        local label = string.match(leaving[i], '^%["[^"]*", "[^"]*", (.*)%]$')
        if label then labels[label] = true end
      end
    end
  end
end
local counts = {}
if mode == 'rule' then
  counts = redis.call('HGETALL', KEYS[4])
elseif mode == 'value' then
  for label, _ in pairs(labels) do
    counts[#counts + 1] = label
    counts[#counts + 1] = redis.call('HGET', KEYS[4], label) or '0'
  end
end
return {1, state, known or false, leaving, following, counts}
"""

# KEYS: lock, h, m, v, o, fired, g, watermark, timers. ARGV: token, plan (JSON).
WRITE_SCRIPT = """
local plan = cjson.decode(ARGV[2])
local ttl = plan.ttl
if plan.hit then
  redis.call('ZADD', KEYS[3], plan.hit[1], plan.hit[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', plan.trim)
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(plan.cap + 1))
  redis.call('SET', KEYS[7], plan.g, 'EX', ttl)
  redis.call('ZADD', KEYS[8], 'GT', plan.hit[1], 'w')
end
if plan.reset then redis.call('DEL', KEYS[4], KEYS[5]) end
for label, change in pairs(plan.counters) do
  if redis.call('HINCRBY', KEYS[4], label, change) <= 0 then redis.call('HDEL', KEYS[4], label) end
end
for _, member in ipairs(plan.o_rem) do redis.call('ZREM', KEYS[5], member) end
for _, pair in ipairs(plan.o_add) do redis.call('ZADD', KEYS[5], pair[1], pair[2]) end
if plan.fired then redis.call('SET', KEYS[6], plan.fired, 'EX', ttl) end
if plan.timer_remove then redis.call('ZREM', KEYS[9], plan.timer_remove) end
if plan.timer_add then redis.call('ZADD', KEYS[9], plan.timer_add[2], plan.timer_add[1]) end
redis.call('HSET', KEYS[2], unpack(plan.state))
for i = 2, 6 do redis.call('EXPIRE', KEYS[i], ttl) end
local ranked = false
if plan.rank then
  local found = redis.call('ZRANGE', KEYS[5], plan.rank, plan.rank, 'WITHSCORES')
  if #found > 0 then ranked = found[2] end
end
if plan.release and redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return {ranked}
"""

RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
