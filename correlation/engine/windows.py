"""Sigma correlation windows, kept in Redis by event time, decided incrementally.

Per (correlation rule, group key) the engine keeps a sorted set of the hits that count
(score: event time; member: the hit's event id, the rule it matched and the value the
correlation looks at) - adding the same hit twice changes nothing, which is what makes a
replayed batch harmless. Windows slide on event time and are inclusive at both ends: two
hits exactly ``timespan`` apart are in one window.

- Conditions more hits can only make true (``gt``, ``gte``, temporal "all seen") are
  decided as hits arrive: a hit may complete any window that contains it, earlier or later
  hits included, so arrival order within the allowed lateness does not matter.
- ``lt``/``lte``/``eq``/``neq`` and temporal conditions with ``not`` are decided when the
  window (opened by its first hit) closes: a timer, due once event time or the wall clock
  passes the window's end plus the lateness.
- After a firing the rest of that window is folded into its alert (counted as suppressed)
  and counting starts afresh after it.
- Hits older than the newest one of their key minus the allowed lateness are late: counted
  and dropped, so state stays bounded.

How a hit is decided without re-reading the window (the work per hit does not grow with
the number of hits kept):

- Beside the hits, each key keeps the running figures of its *current window* - the hits
  of the last ``timespan`` (up to the newest) after the last firing: their count, exact
  sum, per-value counters (distinct values, rules seen), an order-statistic set (percentile,
  median), the sum and sum of squares of their gaps (beacons), and for ordered temporal
  rules the latest start of each partial sequence. A hit entering adds itself; hits leaving
  (the window's start moves on, or a firing) are read once, when they leave.
- A hit that is the newest of its key (the usual case: a batch is fed in event-time
  order) can only complete windows that run to it; for counting types the earliest of them,
  the current window, is the one a firing is made of, so the running figures decide.
  Averages, percentiles, signed sums and beacon spacing are judged on the current window
  too (the window that ends at the hit).
- A hit that arrives out of order is checked against every window containing it, from the
  hits around it (at most ``LATE_SCAN`` of them; in a denser key only the current window is
  checked).
- The state of one hit (the hit, its figures and a firing it decides) is written in one
  Redis transaction, so a worker killed half way leaves either all of it or none.

Several workers may feed one key at once; a short Redis lock per key serializes them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from django.conf import settings

from socapp.kv import kv

from . import runs
from .runs import Member
from .spec import CorrelationSpec, evaluate_expression

__all__ = ["MAX_LINKED", "WORK", "FeedResult", "Firing", "Fold", "Member", "Windows"]

PREFIX = "socapp:corr"
# The live engine's windows live under PREFIX; a backtest keeps its own in a scratch
# namespace (see ``scratch_namespace``) so it neither reads nor disturbs live state.
_namespace: ContextVar[str] = ContextVar("correlation_namespace", default=PREFIX)

MAX_LINKED = 1000  # events linked to one correlation (the alert says how many in all)
LATE_SCAN = 100  # hits read around an out-of-order hit to find the windows it completes


def _prefix() -> str:
    return _namespace.get()


def _timers() -> str:
    return f"{_namespace.get()}:timers"


def _watermark() -> str:
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


@dataclass
class Fold:
    """A hit inside a window that already fired: it belongs to that firing's alert.
    ``firing`` may carry no members; ``full()`` reads the stored firing when needed."""

    firing: Firing
    member: Member
    loader: Callable[[], Firing] | None = None

    def full(self) -> Firing:
        return self.loader() if self.loader is not None else self.firing


@dataclass
class FeedResult:
    firings: list[Firing] = field(default_factory=list)
    folds: list[Fold] = field(default_factory=list)
    late: int = 0
    skipped: int = 0  # hits without a group-by (or value) field


def lateness() -> int:
    return int(getattr(settings, "CORRELATION_ALLOWED_LATENESS", 300))


def max_key_hits() -> int:
    return int(getattr(settings, "CORRELATION_MAX_KEY_HITS", 10_000))


def group_key_of(values: dict[str, Any]) -> str:
    return ", ".join(f"{name}={values[name]}" for name in values)


def _base(rule_id: str, group_key: str) -> str:
    digest = hashlib.sha1(group_key.encode(), usedforsecurity=False).hexdigest()[:20]
    return f"{_prefix()}:{rule_id}:{digest}"


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if len(value) == 1 else (tuple(value) if value else None)
    return value


def group_values(spec: CorrelationSpec, rule_id: str, lookup: Any) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for group in spec.group_by:
        value = _scalar(lookup(spec.group_field(group, rule_id)))
        if value is None or value == "":
            return None  # a hit without the group-by field is not correlated
        values[group] = value
    return values


def _member_value(spec: CorrelationSpec, rule_id: str, lookup: Any) -> tuple[bool, Any]:
    if spec.kind in ("event_count", "temporal", "temporal_ordered"):
        return True, None
    raw = [_scalar(lookup(spec.group_field(name, rule_id))) for name in spec.value_fields]
    if any(v is None for v in raw):
        return False, None
    if spec.kind == "value_count":
        return True, runs.bounded_value(raw[0] if len(raw) == 1 else raw)
    try:
        number = float(raw[0])
    except (TypeError, ValueError, OverflowError):
        return False, None
    return (True, number) if math.isfinite(number) else (False, None)


def _encode(member: Member) -> str:
    return json.dumps([member.event_id, member.rule_id, member.value], default=str)


def _decode(raw: bytes, score: float) -> Member:
    WORK.decoded += 1
    event_id, rule_id, value = json.loads(raw)
    return Member(event_id, rule_id, value, score)


def _firing_json(firing: Firing) -> str:
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


def _firing_from(text: bytes) -> Firing:
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


def _time(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _after(ts: float) -> float:
    """The smallest bound that excludes ``ts`` itself (windows are inclusive)."""
    return math.nextafter(ts, math.inf)


@dataclass
class _State:
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
    def parse(cls, raw: dict[bytes, bytes]) -> _State:
        get = {k.decode(): v.decode() for k, v in raw.items()}.get
        last = get("last")
        fired = get("fired")
        return cls(
            newest=float(get("x") or 0.0),
            last=tuple(json.loads(last)) if last else None,  # type: ignore[arg-type]
            start=float(get("b") or -math.inf),
            fired=tuple(json.loads(fired)) if fired else None,  # type: ignore[arg-type]
            count=int(get("n") or 0),
            distinct=int(get("d") or 0),
            total=Fraction(get("s") or 0),
            gap_sum=int(get("gs") or 0),
            gap_squares=int(get("gq") or 0),
            chains=json.loads(get("t") or "[]"),
            opened=float(get("op")) if get("op") else None,
        )

    def dump(self) -> dict[str, str]:
        return {
            "x": repr(self.newest),
            "last": json.dumps(self.last) if self.last else "",
            "b": repr(self.start),
            "fired": json.dumps(self.fired) if self.fired else "",
            "n": str(self.count),
            "d": str(self.distinct),
            "s": str(self.total),
            "gs": str(self.gap_sum),
            "gq": str(self.gap_squares),
            "t": json.dumps(self.chains),
            "op": repr(self.opened) if self.opened is not None else "",
        }


@dataclass
class _Plan:
    """Changes to a key's running figures, applied in the hit's transaction."""

    counters: dict[str, int] = field(default_factory=dict)  # value -> change
    ordered_add: dict[str, float] = field(default_factory=dict)
    ordered_remove: list[str] = field(default_factory=list)
    reset: bool = False


class Windows:
    """The correlation state of one rule; ``feed`` hits in, get firings and folds out."""

    def __init__(self, spec: CorrelationSpec) -> None:
        self.spec = spec
        self.redis = kv()

    @property
    def ttl(self) -> int:
        return self.spec.timespan * 2 + lateness() + 3600

    # ---- feeding ------------------------------------------------------------------

    def feed(self, rule_id: str, event_id: str, ts: datetime, lookup: Any) -> FeedResult:
        result = FeedResult()
        spec = self.spec
        values = group_values(spec, rule_id, lookup)
        ok, value = _member_value(spec, rule_id, lookup)
        if values is None or not ok:
            result.skipped += 1
            return result
        WORK.hits += 1
        key = group_key_of(values)
        base = _base(spec.rule_id, key)
        member = Member(event_id, rule_id, value, ts.timestamp())
        encoded = _encode(member)
        with self.redis.lock(f"{base}:lock", timeout=30, blocking_timeout=30):
            pipe = self.redis.pipeline(transaction=False)
            pipe.hgetall(f"{base}:h")
            pipe.zscore(f"{base}:m", encoded)
            raw, score = pipe.execute()
            state = _State.parse(raw)
            if member.ts < state.newest - lateness():
                result.late += 1
                return result
            if spec.decided_at_close:
                self._feed_closing(base, key, values, state, member, encoded, score, result)
            else:
                self._feed_sliding(base, key, values, state, member, encoded, score, result)
        return result

    def _fold(
        self, base: str, key: str, values: dict[str, Any], state: _State, member: Member
    ) -> Fold:
        assert state.fired is not None
        start, end = state.fired
        header = Firing(
            rule_id=self.spec.rule_id,
            group_key=key,
            group_values=values,
            window_start=_time(start),
            window_end=_time(end),
            members=[],
            metric=0.0,
            at=_time(end),
        )
        return Fold(header, member, loader=lambda: self._stored_firing(base) or header)

    def _stored_firing(self, base: str) -> Firing | None:
        text = self.redis.get(f"{base}:fired")
        return _firing_from(text) if text is not None else None

    def _in_last_firing(self, state: _State, member: Member) -> bool:
        return state.fired is not None and state.fired[0] <= member.ts <= state.fired[1]

    def _remember(self, pipe: Any, base: str, encoded: str, member: Member, values: dict) -> None:
        """Queue the hit itself, the key's expiry and the trimming of what no window can
        reach any more (older than the timespan plus the lateness, or beyond the cap)."""
        ttl = self.ttl
        pipe.zadd(f"{base}:m", {encoded: member.ts})
        pipe.zremrangebyscore(
            f"{base}:m", "-inf", f"({max(member.ts, 0) - self.spec.timespan - lateness() - 1}"
        )
        pipe.zremrangebyrank(f"{base}:m", 0, -(max_key_hits() + 1))
        pipe.set(f"{base}:g", json.dumps(values, default=str), ex=ttl)
        pipe.zadd(_watermark(), {"w": member.ts}, gt=True)
        for suffix in ("m", "h", "v", "o", "fired"):
            pipe.expire(f"{base}:{suffix}", ttl)

    # ---- conditions decided as hits arrive ----------------------------------------

    def _feed_sliding(
        self,
        base: str,
        key: str,
        values: dict[str, Any],
        state: _State,
        member: Member,
        encoded: str,
        score: float | None,
        result: FeedResult,
    ) -> None:
        spec = self.spec
        if score is not None:  # a replay: the hit and its figures are in already
            if self._in_last_firing(state, member):
                result.folds.append(self._fold(base, key, values, state, member))
            elif member.ts >= state.start and state.count:
                # Normally nothing: a window that held fired when its last hit came. After
                # a worker died between the hit's transaction and its firing's, it fires now.
                self._decide_current(base, key, values, state, member, _Plan(), result)
            return
        plan = _Plan()
        prior = state.last
        in_order = prior is None or (member.ts, encoded) > tuple(prior)
        folded = self._in_last_firing(state, member)
        state.last = max(state.last or (member.ts, encoded), (member.ts, encoded))  # type: ignore[type-var]
        if folded:
            self._write(base, state, plan, member, encoded, values)
            result.folds.append(self._fold(base, key, values, state, member))
            return
        if in_order:
            previous_newest = state.newest
            state.newest = max(state.newest, member.ts)
            low = member.ts - spec.timespan
            if state.fired is not None:
                low = max(low, _after(state.fired[1]))
            self._move_start(base, state, plan, max(low, state.start), previous_newest)
            self._enter(state, plan, member, prior if state.count > 0 else None)
            self._cap(base, state, plan)
            self._decide_current(base, key, values, state, member, plan, result, encoded)
            return
        # out of order: it may complete a window that runs past it
        entered = member.ts >= state.start and member.ts > (state.fired or (0, -math.inf))[1]
        if entered:
            self._enter_late(base, state, plan, member)
        if state.fired is not None and member.ts <= state.fired[1]:
            self._write(base, state, plan, member, encoded, values)
            return  # before the last firing: no window after it contains this hit
        self._decide_late(base, key, values, state, member, encoded, plan, result, entered)

    def _write(
        self,
        base: str,
        state: _State,
        plan: _Plan,
        member: Member | None,
        encoded: str | None,
        values: dict[str, Any],
        *,
        firing: Firing | None = None,
        rank: int | None = None,
    ) -> list[Any]:
        """One transaction: the hit, the figures, a firing. Returns the percentile read."""
        pipe = self.redis.pipeline(transaction=True)
        if member is not None and encoded is not None:
            self._remember(pipe, base, encoded, member, values)
        if plan.reset:
            pipe.delete(f"{base}:v", f"{base}:o")
        for value, change in plan.counters.items():
            if change:
                pipe.hincrby(f"{base}:v", value, change)
        if plan.counters:
            # a counter at zero is a value no longer in the window
            pipe.eval(_DROP_ZEROS, 1, f"{base}:v", *plan.counters)
        if plan.ordered_remove:
            pipe.zrem(f"{base}:o", *plan.ordered_remove)
        if plan.ordered_add:
            pipe.zadd(f"{base}:o", plan.ordered_add)
        if firing is not None:
            pipe.set(f"{base}:fired", _firing_json(firing), ex=self.ttl)
        pipe.hset(f"{base}:h", mapping=state.dump())
        pipe.expire(f"{base}:h", self.ttl)
        if rank is not None:
            pipe.zrange(f"{base}:o", rank, rank, withscores=True)
        replies = pipe.execute()
        plan.counters.clear()
        plan.ordered_add.clear()
        plan.ordered_remove.clear()
        plan.reset = False
        return replies[-1] if rank is not None else []

    # -- the running figures of the current window

    def _contribute(self, plan: _Plan, member: Member, encoded: str, sign: int) -> None:
        kind = self.spec.kind
        if kind == "value_count":
            label = runs.value_key(member.value)
        elif kind in ("temporal", "temporal_ordered") or self.spec.expression is not None:
            label = member.rule_id
        else:
            label = None
        if label is not None:
            plan.counters[label] = plan.counters.get(label, 0) + sign
        if kind in ("value_percentile", "value_median"):
            if sign > 0:
                plan.ordered_add[encoded] = float(member.value)
            else:
                plan.ordered_add.pop(encoded, None)
                plan.ordered_remove.append(encoded)

    def _counts_after(self, base: str, state: _State, plan: _Plan) -> None:
        """Distinct values after the queued counter changes (reads only those values)."""
        labels = [label for label, change in plan.counters.items() if change]
        if not labels:
            return
        current = self.redis.hmget(f"{base}:v", labels) if not plan.reset else [None] * len(labels)
        for label, before in zip(labels, current, strict=True):
            was = int(before or 0)
            now = was + plan.counters[label]
            state.distinct += (now > 0) - (was > 0)

    def _enter(
        self, state: _State, plan: _Plan, member: Member, prior: tuple[float, str] | None
    ) -> None:
        """An in-order hit joins the current window (it is its newest hit; ``prior`` the
        one before it, when the window held any)."""
        encoded = _encode(member)
        self._contribute(plan, member, encoded, +1)
        state.count += 1
        if isinstance(member.value, int | float) and self.spec.kind not in ("value_count",):
            state.total += Fraction(member.value)
        if prior is not None and self.spec.max_jitter is not None:
            gap = runs.micros(member.ts) - runs.micros(prior[0])
            state.gap_sum += gap
            state.gap_squares += gap * gap
        if self.spec.kind == "temporal_ordered":
            state.chains = _extend_chains(self.spec.rules, state.chains, member)

    def _enter_late(self, base: str, state: _State, plan: _Plan, member: Member) -> None:
        """An out-of-order hit joins the current window (somewhere inside it)."""
        self._contribute(plan, member, _encode(member), +1)
        state.count += 1
        if isinstance(member.value, int | float) and self.spec.kind != "value_count":
            state.total += Fraction(member.value)
        if self.spec.max_jitter is not None:
            self._gap_inserted(base, state, member)
        if self.spec.kind == "temporal_ordered":
            window = self._read(base, state.start, math.inf, LATE_SCAN + 1)
            if len(window) <= LATE_SCAN:  # a dense key keeps its chains (documented)
                window = sorted([*window, member], key=_order)
                chains: list[float | None] = []
                for hit in window:
                    chains = _extend_chains(self.spec.rules, chains, hit)
                state.chains = chains

    def _gap_inserted(self, base: str, state: _State, member: Member) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcount(f"{base}:m", member.ts, member.ts)
        pipe.zrevrangebyscore(
            f"{base}:m", f"({member.ts}", state.start, start=0, num=1, withscores=True
        )
        pipe.zrangebyscore(f"{base}:m", f"({member.ts}", "+inf", start=0, num=1, withscores=True)
        same, before, after = pipe.execute()
        if same:
            return  # a gap of zero joins: the sums stay
        t = runs.micros(member.ts)
        p = runs.micros(before[0][1]) if before else None
        n = runs.micros(after[0][1]) if after else None
        if p is not None and n is not None:
            state.gap_squares += (t - p) ** 2 + (n - t) ** 2 - (n - p) ** 2
        elif p is not None:
            state.gap_sum += t - p
            state.gap_squares += (t - p) ** 2
        elif n is not None:
            state.gap_sum += n - t
            state.gap_squares += (n - t) ** 2

    def _move_start(
        self, base: str, state: _State, plan: _Plan, start: float, newest: float
    ) -> None:
        """Move the current window's start to ``start``: the hits before it leave."""
        if start <= state.start:
            return
        if state.count == 0:
            state.start = start
            return
        if start > newest:  # every hit of the window leaves: no need to read them
            self._clear(state, plan, start)
            return
        leaving = self._read(base, state.start, start, None, exclusive=True)
        following = self._read(base, start, math.inf, 1)
        for hit in leaving:
            self._contribute(plan, hit, _encode(hit), -1)
            state.count -= 1
            if isinstance(hit.value, int | float) and self.spec.kind != "value_count":
                state.total -= Fraction(hit.value)
        if self.spec.max_jitter is not None and leaving:
            times = [runs.micros(h.ts) for h in leaving]
            if following and state.count > 0:
                times.append(runs.micros(following[0].ts))
                state.gap_sum -= times[-1] - times[0]
                state.gap_squares -= sum((b - a) ** 2 for a, b in itertools.pairwise(times))
            else:
                state.gap_sum = state.gap_squares = 0
        state.start = start
        if state.count <= 0:
            self._clear(state, plan, start)

    def _clear(self, state: _State, plan: _Plan, start: float) -> None:
        state.start = start
        state.count = state.distinct = state.gap_sum = state.gap_squares = 0
        state.total = Fraction(0)
        state.chains = []
        plan.reset = True
        plan.counters.clear()
        plan.ordered_add.clear()
        plan.ordered_remove.clear()

    def _cap(self, base: str, state: _State, plan: _Plan) -> None:
        """Keep at most ``CORRELATION_MAX_KEY_HITS`` hits in the current window: past
        that, its oldest hits leave it (and the hit set is trimmed to the same size)."""
        excess = state.count - max_key_hits()
        if excess <= 0:
            return
        rows = self.redis.zrangebyscore(
            f"{base}:m", state.start, "+inf", start=excess - 1, num=1, withscores=True
        )
        if rows:
            self._move_start(base, state, plan, _after(float(rows[0][1])), state.newest)

    def _read(
        self, base: str, low: float, high: float, limit: int | None, *, exclusive: bool = False
    ) -> list[Member]:
        upper = "+inf" if high == math.inf else (f"({high}" if exclusive else repr(high))
        lower = "-inf" if low == -math.inf else repr(low)
        rows = self.redis.zrangebyscore(
            f"{base}:m",
            lower,
            upper,
            withscores=True,
            **({"start": 0, "num": limit} if limit is not None else {}),
        )
        return [_decode(raw, score) for raw, score in rows]

    # -- deciding

    def _current_metric(
        self,
        base: str,
        state: _State,
        plan: _Plan,
        member: Member,
        encoded: str | None,
        values: dict[str, Any],
        write: bool,
    ) -> float | None:
        """Write the hit's transaction (when ``write``) and return the current window's
        metric, or None when its condition does not hold."""
        spec = self.spec
        kind = spec.kind
        self._counts_after(base, state, plan)
        rank = None
        if kind in ("value_percentile", "value_median") and state.count:
            rank = runs.percentile_index(spec, state.count)
        if write:
            read = self._write(base, state, plan, member, encoded, values, rank=rank)
        elif rank is not None:
            read = self.redis.zrange(f"{base}:o", rank, rank, withscores=True)
        else:
            read = []
        if spec.expression is not None:
            present = {k.decode() for k in self.redis.hkeys(f"{base}:v")}
            ok = evaluate_expression(spec.expression, present, spec.expression_names)
            return float(len(present)) if ok else None
        if kind == "event_count":
            value = float(state.count)
        elif kind in ("value_count", "temporal"):
            value = float(state.distinct)
        elif kind == "temporal_ordered":
            value = float(_chain_progress(state.chains, state.start))
        elif kind == "value_sum":
            value = float(state.total)
        elif kind == "value_avg":
            value = float(state.total / state.count) if state.count else 0.0
        else:
            value = float(read[0][1]) if read else 0.0
        if not spec.holds(value):
            return None
        if spec.max_jitter is not None and not runs.evenly_spaced_gaps(
            state.count - 1, state.gap_sum, state.gap_squares, spec.max_jitter
        ):
            return None
        return value

    def _decide_current(
        self,
        base: str,
        key: str,
        values: dict[str, Any],
        state: _State,
        member: Member,
        plan: _Plan,
        result: FeedResult,
        encoded: str | None = None,
    ) -> None:
        """Decide on the current window (the hit is in it); fire with it when it holds."""
        value = self._current_metric(
            base, state, plan, member, encoded, values, write=encoded is not None
        )
        if value is None:
            return
        run = self._read(base, state.start, math.inf, MAX_LINKED)
        if not run:
            return
        firing = self._fire(
            base, key, values, state, plan, run[0].ts, run, value, _time(state.newest)
        )
        result.firings.append(firing)
        if all(m.event_id != member.event_id for m in run):
            result.folds.append(self._fold(base, key, values, state, member))

    def _decide_late(
        self,
        base: str,
        key: str,
        values: dict[str, Any],
        state: _State,
        member: Member,
        encoded: str,
        plan: _Plan,
        result: FeedResult,
        entered: bool,
    ) -> None:
        spec = self.spec
        low = member.ts - spec.timespan
        if state.fired is not None:
            low = max(low, _after(state.fired[1]))
        around = self._read(base, low, member.ts + spec.timespan, LATE_SCAN + 1)
        if len(around) > LATE_SCAN:  # a dense key: only the current window is checked
            if entered:
                self._decide_current(base, key, values, state, member, plan, result, encoded)
            else:
                self._write(base, state, plan, member, encoded, values)
            return
        self._counts_after(base, state, plan)
        self._write(base, state, plan, member, encoded, values)
        found = runs.earliest_firing(spec, sorted([*around, member], key=_order), member)
        if found is None:
            return
        start, part, value = found
        firing = self._fire(
            base, key, values, state, plan, start, part[:MAX_LINKED], value, part[-1].time
        )
        result.firings.append(firing)
        if all(m.event_id != member.event_id for m in part):
            result.folds.append(self._fold(base, key, values, state, member))

    def _fire(
        self,
        base: str,
        key: str,
        values: dict[str, Any],
        state: _State,
        plan: _Plan,
        start: float,
        members: list[Member],
        metric: float,
        at: datetime,
    ) -> Firing:
        """Record a firing, and start the current window after its end (one transaction)."""
        end = start + self.spec.timespan
        firing = Firing(
            rule_id=self.spec.rule_id,
            group_key=key,
            group_values=values,
            window_start=_time(start),
            window_end=_time(end),
            members=members[:MAX_LINKED],
            metric=metric,
            at=at,
        )
        state.fired = (start, end)
        self._move_start(base, state, plan, max(state.start, _after(end)), state.newest)
        self._counts_after(base, state, plan)
        self._write(base, state, plan, None, None, values, firing=firing)
        return firing

    # ---- conditions decided when the window closes ---------------------------------

    def _feed_closing(
        self,
        base: str,
        key: str,
        values: dict[str, Any],
        state: _State,
        member: Member,
        encoded: str,
        score: float | None,
        result: FeedResult,
    ) -> None:
        plan = _Plan()
        state.newest = max(state.newest, member.ts)
        state.last = max(state.last or (member.ts, encoded), (member.ts, encoded))  # type: ignore[type-var]
        if self._in_last_firing(state, member):
            self._write(base, state, plan, member, encoded, values)
            result.folds.append(self._fold(base, key, values, state, member))
            return
        start = state.opened
        if start is not None and member.ts > start + self.spec.timespan:
            self._write(base, state, plan, member, encoded, values)
            firing = self.close(base, key, start)  # its timer has not run yet
            result.firings.extend([firing] if firing else [])
            state = _State.parse(self.redis.hgetall(f"{base}:h"))
            start = None
        if start is None or member.ts < start:
            if start is not None:
                self.redis.zrem(_timers(), f"{self.spec.rule_id}|{key}|{start}")
            state.opened = member.ts
            self.redis.zadd(
                _timers(),
                {f"{self.spec.rule_id}|{key}|{member.ts}": member.ts + self.spec.timespan},
            )
        self._write(base, state, plan, member, encoded, values)

    def close(self, base: str, key: str, start: float) -> Firing | None:
        """Decide the window opened at ``start`` and forget it. Its hits are read once,
        here (at most the per-key cap of them)."""
        self.redis.zrem(_timers(), f"{self.spec.rule_id}|{key}|{start}")
        state = _State.parse(self.redis.hgetall(f"{base}:h"))
        if state.opened == start:
            state.opened = None
            self.redis.hset(f"{base}:h", "op", "")
        window = self._read(base, start, start + self.spec.timespan, max_key_hits())
        if not window:
            return None
        ok, metric = runs.satisfied(self.spec, window)
        values = json.loads(self.redis.get(f"{base}:g") or "{}")
        if not ok:
            return None
        end = start + self.spec.timespan
        firing = Firing(
            rule_id=self.spec.rule_id,
            group_key=key,
            group_values=values,
            window_start=_time(start),
            window_end=_time(end),
            members=window[:MAX_LINKED],
            metric=metric,
            at=_time(end),
        )
        state.fired = (start, end)
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(f"{base}:fired", _firing_json(firing), ex=self.ttl)
        pipe.hset(f"{base}:h", "fired", json.dumps(state.fired))
        pipe.execute()
        return firing


# Drops the fields of a counter hash that fell to zero (one round trip, in the hit's
# transaction): HINCRBY cannot say "and delete at zero".
_DROP_ZEROS = """
for i, field in ipairs(ARGV) do
  local v = redis.call('HGET', KEYS[1], field)
  if v and tonumber(v) <= 0 then redis.call('HDEL', KEYS[1], field) end
end
return 0
"""


def _order(member: Member) -> tuple[float, str]:
    return (member.ts, _encode(member))


def _extend_chains(rules: list[str], chains: list[float | None], hit: Member) -> list[float]:
    """For each leading part of ``rules``, the latest start of a run seen in order that
    matches it, after ``hit`` (the newest) - the sequence a temporal_ordered rule needs."""
    chains = list(chains) + [None] * (len(rules) - len(chains))
    for position in range(len(rules) - 1, -1, -1):  # from the end: one hit, one step
        if rules[position] != hit.rule_id:
            continue
        candidate = hit.ts if position == 0 else chains[position - 1]
        if candidate is not None and (chains[position] is None or candidate > chains[position]):
            chains[position] = candidate
    return chains  # type: ignore[return-value]


def _chain_progress(chains: list[float | None], start: float) -> int:
    """How many of the rules were seen in order within the window starting at ``start``."""
    progress = 0
    for position, begun in enumerate(chains):
        if begun is not None and begun >= start:
            progress = position + 1
    return progress


def due_timers(now: float) -> list[tuple[str, str, float]]:
    """(rule id, group key, window start) of windows whose end plus lateness has passed,
    by event time (the newest hit seen) or by the wall clock."""
    redis = kv()
    watermark = max(float(redis.zscore(_watermark(), "w") or 0.0), now)
    due = redis.zrangebyscore(_timers(), "-inf", watermark - lateness())
    timers = []
    for raw in due:
        parts = raw.decode().split("|")
        rule_id, start_text = parts[0], parts[-1]
        key = "|".join(parts[1:-1])
        timers.append((rule_id, key, float(start_text)))
    return timers


def close_timer(spec: CorrelationSpec, key: str, start: float) -> Firing | None:
    windows = Windows(spec)
    base = _base(spec.rule_id, key)
    with windows.redis.lock(f"{base}:lock", timeout=30, blocking_timeout=30):
        return windows.close(base, key, start)


def forget_rule(rule_id: str) -> None:
    """Drop every window of a rule (used by tests and when a rule is deleted)."""
    redis = kv()
    for name in redis.scan_iter(f"{_prefix()}:{rule_id}:*"):
        redis.delete(name)
    for raw in redis.zrange(_timers(), 0, -1):
        if raw.decode().startswith(f"{rule_id}|"):
            redis.zrem(_timers(), raw)
