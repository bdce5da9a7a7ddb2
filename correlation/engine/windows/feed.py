"""Feeding hits into a rule's windows and deciding them (see the package's docstring)."""

from __future__ import annotations

import itertools
import json
import math
import time
import uuid
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, cast

from socapp.kv import kv

from .. import runs
from ..runs import Member
from ..spec import CorrelationSpec, evaluate_expression
from . import deferred
from .hits import FeedResult, Fold, group_key_of, group_values, key_base, member_value
from .store import (
    LOCK_MS,
    LOCK_WAIT,
    MAX_LINKED,
    READ_SCRIPT,
    RELEASE_SCRIPT,
    WORK,
    WRITE_SCRIPT,
    Firing,
    Plan,
    Read,
    State,
    bound,
    decode,
    decode_rows,
    encode,
    firing_from,
    firing_json,
    lateness,
    max_key_hits,
    timers_key,
    watermark_key,
)

LATE_SCAN = 100  # hits read around an out-of-order hit to find the windows it completes


def _time(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _after(ts: float) -> float:
    """The smallest bound that excludes ``ts`` itself (windows are inclusive)."""
    return math.nextafter(ts, math.inf)


def _order(member: Member) -> tuple[float, str]:
    return (member.ts, encode(member))


class _Key:
    """One key while a hit holds its lock: names, the lock token, known counters."""

    def __init__(self, redis: Any, base: str) -> None:
        self.redis = redis
        self.base = base
        self.token = uuid.uuid4().hex
        self.held = False
        self.counts: dict[str, int] = {}
        self.complete = False  # every counter of the window is in ``counts``
        self.low: float | None = None  # the bound READ brought the leavers for
        self.leaving: list[Member] | None = None
        self.following: list[Member] = []

    def name(self, suffix: str) -> str:
        return f"{self.base}:{suffix}"


class Windows:
    """The correlation state of one rule; ``feed`` hits in, get firings and folds out."""

    _scripts: dict[str, Any] = {}

    def __init__(self, spec: CorrelationSpec) -> None:
        self.spec = spec
        self.redis = kv()

    def _script(self, text: str) -> Any:
        script = self._scripts.get(text)
        if script is None or script.registered_client is not self.redis:
            script = self._scripts[text] = self.redis.register_script(text)
        return script

    @property
    def ttl(self) -> int:
        return self.spec.timespan * 2 + lateness() + 3600

    @property
    def _mode(self) -> str:
        if self.spec.kind == "value_count":
            return "value"
        if self.spec.kind == "temporal" or self.spec.expression is not None:
            return "rule"
        return ""

    def _label(self, member: Member) -> str | None:
        mode = self._mode
        if mode == "value":
            return runs.value_key(member.value)
        return member.rule_id if mode == "rule" else None

    # ---- the two round trips -------------------------------------------------------

    def _read(self, key: _Key, member: Member, encoded: str) -> Read:
        """Take the key's lock and read what deciding this hit needs (READ)."""
        low = member.ts - self.spec.timespan
        label = self._label(member) or ""
        deadline = time.monotonic() + LOCK_WAIT
        keys = [key.name("lock"), key.name("h"), key.name("m"), key.name("v")]
        args = [
            key.token,
            LOCK_MS,
            encoded,
            bound(low),
            "1" if self.spec.max_jitter is not None else "",
            self._mode,
            label,
        ]
        while True:
            if deferred.pending():  # the last hit's write, and this READ, in one go
                reply = deferred.send_pending(then=(READ_SCRIPT, keys, args))
            else:
                reply = self._script(READ_SCRIPT)(keys=keys, args=args)
            if reply[0] == 1:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"correlation key {key.base} stayed locked")
            time.sleep(0.002)
        key.held = True
        _, flat, known, leaving, following, counts = reply
        key.low = low
        key.leaving = decode_rows(leaving)
        key.following = decode_rows(following)
        key.counts = {counts[i].decode(): int(counts[i + 1]) for i in range(0, len(counts), 2)}
        key.complete = self._mode == "rule"
        return Read(State.parse(flat), known is not None and known is not False)

    def _write(
        self,
        key: _Key,
        state: State,
        plan: Plan,
        values: dict[str, Any],
        *,
        release: bool,
        rank: int | None = None,
    ) -> Any:
        """Apply ``plan`` and the state in one script (WRITE); returns the value at
        ``rank`` of the ordered values when asked."""
        body: dict[str, Any] = {
            "ttl": self.ttl,
            "counters": {label: change for label, change in plan.counters.items() if change},
            "o_rem": plan.ordered_remove,
            "o_add": [[repr(v), m] for m, v in plan.ordered_add.items()],
            "state": state.dump(),
            "release": release,
        }
        if plan.reset:
            body["reset"] = True
        if plan.hit is not None:
            ts, encoded = plan.hit
            body["hit"] = [repr(ts), encoded]
            body["trim"] = f"({state.newest - self.spec.timespan - lateness() - 1!r}"
            body["cap"] = max_key_hits()
            body["g"] = json.dumps(values, default=str)
        if plan.firing is not None:
            body["fired"] = firing_json(plan.firing)
        if plan.timer_add is not None:
            body["timer_add"] = [plan.timer_add[0], repr(plan.timer_add[1])]
        if plan.timer_remove is not None:
            body["timer_remove"] = plan.timer_remove
        if rank is not None:
            body["rank"] = rank
        keys = [key.name(s) for s in ("lock", "h", "m", "v", "o", "fired", "g")]
        keys += [watermark_key(), timers_key()]
        args = [key.token, json.dumps(body)]
        ranked = None
        last = release and rank is None  # the hit's last write: it may wait (deferred.py)
        if not (last and deferred.defer(self.redis, (WRITE_SCRIPT, keys, args))):
            self._flush()
            (ranked,) = self._script(WRITE_SCRIPT)(keys=keys, args=args)
        key.held = key.held and not release
        plan.hit = plan.firing = plan.timer_add = None
        plan.timer_remove = None
        plan.counters.clear()
        plan.ordered_add.clear()
        plan.ordered_remove.clear()
        plan.reset = False
        return ranked

    @staticmethod
    def _flush() -> None:
        """Send a write that waits (deferred.py) before any other command of ours."""
        if deferred.pending():
            deferred.send_pending()

    def _release(self, key: _Key) -> None:
        if key.held:
            self._flush()
            self._script(RELEASE_SCRIPT)(keys=[key.name("lock")], args=[key.token])
            key.held = False

    def _members(
        self, key: _Key, low: float, high: float, limit: int | None, *, exclusive: bool = False
    ) -> list[Member]:
        upper = f"({high!r}" if exclusive and high != math.inf else bound(high)
        self._flush()
        rows = self.redis.zrangebyscore(
            key.name("m"),
            bound(low),
            upper,
            start=None if limit is None else 0,
            num=limit,
            withscores=True,
        )
        # With scores, the reply is (member, score) pairs: redis-py's types cannot tell.
        return [decode(raw, score) for raw, score in cast(list[tuple[bytes, float]], rows)]

    # ---- feeding ------------------------------------------------------------------

    def feed(self, rule_id: str, event_id: str, ts: datetime, lookup: Any) -> FeedResult:
        result = FeedResult()
        spec = self.spec
        values = group_values(spec, rule_id, lookup)
        ok, value = member_value(spec, rule_id, lookup)
        if values is None or not ok:
            result.skipped += 1
            return result
        WORK.hits += 1
        group_key = group_key_of(values)
        key = _Key(self.redis, key_base(spec.rule_id, group_key))
        member = Member(event_id, rule_id, value, ts.timestamp())
        encoded = encode(member)
        read = self._read(key, member, encoded)
        try:
            state = read.state
            if member.ts < state.newest - lateness():
                result.late += 1
            elif spec.decided_at_close:
                self._feed_closing(key, group_key, values, state, member, encoded, read, result)
            else:
                self._feed_sliding(key, group_key, values, state, member, encoded, read, result)
        finally:
            self._release(key)
        return result

    def _fold(
        self, key: _Key, group_key: str, values: dict[str, Any], state: State, member: Member
    ) -> Fold:
        assert state.fired is not None
        start, end = state.fired
        header = Firing(
            rule_id=self.spec.rule_id,
            group_key=group_key,
            group_values=values,
            window_start=_time(start),
            window_end=_time(end),
            members=[],
            metric=0.0,
            at=_time(end),
        )
        redis, name = self.redis, key.name("fired")

        def load() -> Firing:
            self._flush()
            text = redis.get(name)
            return firing_from(text) if text is not None else header

        return Fold(header, member, loader=load)

    @staticmethod
    def _in_last_firing(state: State, member: Member) -> bool:
        return state.fired is not None and state.fired[0] <= member.ts <= state.fired[1]

    # ---- conditions decided as hits arrive ----------------------------------------

    def _feed_sliding(
        self,
        key: _Key,
        group_key: str,
        values: dict[str, Any],
        state: State,
        member: Member,
        encoded: str,
        read: Read,
        result: FeedResult,
    ) -> None:
        spec = self.spec
        plan = Plan()
        if read.known:  # a replay: the hit and its figures are in already
            if self._in_last_firing(state, member):
                result.folds.append(self._fold(key, group_key, values, state, member))
            elif member.ts >= state.start and state.count:
                # Normally nothing: a window that held fired when its last hit came. After
                # a worker died between the hit's write and its firing's, it fires now.
                self._decide_current(key, group_key, values, state, member, plan, result)
            return
        plan.hit = (member.ts, encoded)
        prior = state.last
        in_order = prior is None or (member.ts, encoded) > tuple(prior)
        if in_order:
            state.last = (member.ts, encoded)
        if self._in_last_firing(state, member):
            self._write(key, state, plan, values, release=True)
            result.folds.append(self._fold(key, group_key, values, state, member))
            return
        if in_order:
            previous_newest = state.newest
            state.newest = max(state.newest, member.ts)
            low = member.ts - spec.timespan
            if state.fired is not None:
                low = max(low, _after(state.fired[1]))
            self._move_start(key, state, plan, max(low, state.start), previous_newest)
            self._enter(key, state, plan, member, encoded, prior if state.count > 0 else None)
            self._cap(key, state, plan)
            self._decide_current(key, group_key, values, state, member, plan, result)
            return
        # out of order: it may complete a window that runs past it
        fired_end = state.fired[1] if state.fired is not None else -math.inf
        entered = member.ts >= state.start and member.ts > fired_end
        if entered:
            self._enter_late(key, state, plan, member, encoded)
        if member.ts <= fired_end:
            self._write(key, state, plan, values, release=True)
            return  # before the last firing: no window after it contains this hit
        self._decide_late(key, group_key, values, state, member, plan, result, entered)

    # -- the running figures of the current window

    def _count_of(self, key: _Key, label: str) -> int:
        if label not in key.counts:
            if key.complete:
                return 0
            self._flush()
            key.counts[label] = int(self.redis.hget(key.name("v"), label) or 0)
        return key.counts[label]

    def _contribute(
        self, key: _Key, state: State, plan: Plan, member: Member, encoded: str, sign: int
    ) -> None:
        """A hit joins (+1) or leaves (-1) the current window's figures."""
        state.count += sign
        if isinstance(member.value, int | float) and self.spec.kind != "value_count":
            state.total += sign * Fraction(member.value)
        label = self._label(member)
        if label is not None:
            was = self._count_of(key, label)
            key.counts[label] = was + sign
            state.distinct += (was + sign > 0) - (was > 0)
            plan.counters[label] = plan.counters.get(label, 0) + sign
        if self.spec.kind in ("value_percentile", "value_median"):
            if sign > 0:
                plan.ordered_add[encoded] = float(member.value)
            elif plan.ordered_add.pop(encoded, None) is None:
                plan.ordered_remove.append(encoded)

    def _enter(
        self,
        key: _Key,
        state: State,
        plan: Plan,
        member: Member,
        encoded: str,
        prior: tuple[float, str] | None,
    ) -> None:
        """An in-order hit joins the current window (it is its newest hit; ``prior`` the
        one before it, when the window held any)."""
        self._contribute(key, state, plan, member, encoded, +1)
        if prior is not None and self.spec.max_jitter is not None:
            gap = runs.micros(member.ts) - runs.micros(prior[0])
            state.gap_sum += gap
            state.gap_squares += gap * gap
        if self.spec.kind == "temporal_ordered":
            state.chains = runs.extend_chains(self.spec.rules, state.chains, member)

    def _enter_late(
        self, key: _Key, state: State, plan: Plan, member: Member, encoded: str
    ) -> None:
        """An out-of-order hit joins the current window (somewhere inside it)."""
        self._contribute(key, state, plan, member, encoded, +1)
        if self.spec.max_jitter is not None:
            self._gap_inserted(key, state, member)
        if self.spec.kind == "temporal_ordered":
            window = self._members(key, state.start, math.inf, LATE_SCAN + 1)
            if len(window) <= LATE_SCAN:  # a dense key keeps its chains (documented)
                chains: list[float | None] = []
                for hit in sorted([*window, member], key=_order):
                    chains = runs.extend_chains(self.spec.rules, chains, hit)
                state.chains = chains

    def _gap_inserted(self, key: _Key, state: State, member: Member) -> None:
        self._flush()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcount(key.name("m"), member.ts, member.ts)
        pipe.zrevrangebyscore(
            key.name("m"), f"({member.ts!r}", bound(state.start), start=0, num=1, withscores=True
        )
        pipe.zrangebyscore(
            key.name("m"), f"({member.ts!r}", "+inf", start=0, num=1, withscores=True
        )
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

    def _move_start(self, key: _Key, state: State, plan: Plan, start: float, newest: float) -> None:
        """Move the current window's start to ``start``: the hits before it leave (read
        once, here; READ brought them when the start follows the hit)."""
        if start <= state.start:
            return
        if state.count == 0:
            state.start = start
            return
        if start > newest:  # every hit of the window leaves: no need to read them
            self._clear(key, state, plan, start)
            return
        if key.leaving is not None and start == key.low:
            leaving, following = key.leaving, key.following
        else:
            leaving = self._members(key, state.start, start, None, exclusive=True)
            following = self._members(key, start, math.inf, 1)
        key.leaving = None
        for hit in leaving:
            self._contribute(key, state, plan, hit, encode(hit), -1)
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
            self._clear(key, state, plan, start)

    def _clear(self, key: _Key, state: State, plan: Plan, start: float) -> None:
        state.start = start
        state.count = state.distinct = state.gap_sum = state.gap_squares = 0
        state.total = Fraction(0)
        state.chains = []
        plan.clear_figures()
        key.counts, key.complete = {}, True

    def _cap(self, key: _Key, state: State, plan: Plan) -> None:
        """Keep at most ``CORRELATION_MAX_KEY_HITS`` hits in the current window: past
        that, its oldest hits leave it (and the hit set is trimmed to the same size)."""
        excess = state.count - max_key_hits()
        if excess <= 0:
            return
        self._flush()
        rows = self.redis.zrangebyscore(
            key.name("m"), bound(state.start), "+inf", start=excess - 1, num=1, withscores=True
        )
        if rows:
            self._move_start(key, state, plan, _after(float(rows[0][1])), state.newest)

    # -- deciding

    def _current_metric(
        self, key: _Key, state: State, plan: Plan, values: dict[str, Any]
    ) -> float | None:
        """The current window's metric, or None when its condition does not hold. A
        percentile needs the ordered values after this hit: it writes the hit first."""
        spec = self.spec
        kind = spec.kind
        if spec.expression is not None:
            present = {label for label, n in key.counts.items() if n > 0}
            ok = evaluate_expression(spec.expression, present, spec.expression_names)
            return float(len(present)) if ok else None
        if kind == "event_count":
            value = float(state.count)
        elif kind in ("value_count", "temporal"):
            value = float(state.distinct)
        elif kind == "temporal_ordered":
            value = float(runs.chain_progress(state.chains, state.start))
        elif kind == "value_sum":
            value = float(state.total)
        elif kind == "value_avg":
            value = float(state.total / state.count) if state.count else 0.0
        elif state.count:
            ranked = self._write(
                key, state, plan, values, release=False,
                rank=runs.percentile_index(spec, state.count),
            )  # fmt: skip
            value = float(ranked) if ranked else 0.0
        else:
            value = 0.0
        if not spec.holds(value):
            return None
        if spec.max_jitter is not None and not runs.evenly_spaced_gaps(
            state.count - 1, state.gap_sum, state.gap_squares, spec.max_jitter
        ):
            return None
        return value

    def _decide_current(
        self,
        key: _Key,
        group_key: str,
        values: dict[str, Any],
        state: State,
        member: Member,
        plan: Plan,
        result: FeedResult,
    ) -> None:
        """Decide on the current window (the hit is in it), fire with it when it holds,
        and write (the hit, if it is new, and the firing) in one go."""
        value = self._current_metric(key, state, plan, values)
        if value is None:
            self._write(key, state, plan, values, release=True)
            return
        run = self._members(key, state.start, math.inf, MAX_LINKED)
        if plan.hit is not None and len(run) < MAX_LINKED:
            run.append(member)  # in order: the newest, not written yet
        firing = self._fire(
            key, group_key, values, state, plan, run[0].ts, run, value, _time(state.newest)
        )
        result.firings.append(firing)
        if all(m.event_id != member.event_id for m in run):
            result.folds.append(self._fold(key, group_key, values, state, member))

    def _decide_late(
        self,
        key: _Key,
        group_key: str,
        values: dict[str, Any],
        state: State,
        member: Member,
        plan: Plan,
        result: FeedResult,
        entered: bool,
    ) -> None:
        spec = self.spec
        low = member.ts - spec.timespan
        if state.fired is not None:
            low = max(low, _after(state.fired[1]))
        around = self._members(key, low, member.ts + spec.timespan, LATE_SCAN + 1)
        if len(around) > LATE_SCAN:  # a dense key: only the current window is checked
            if entered:
                self._decide_current(key, group_key, values, state, member, plan, result)
            else:
                self._write(key, state, plan, values, release=True)
            return
        found = runs.earliest_firing(spec, sorted([*around, member], key=_order), member)
        if found is None:
            self._write(key, state, plan, values, release=True)
            return
        start, part, value = found
        firing = self._fire(
            key, group_key, values, state, plan, start, part[:MAX_LINKED], value, part[-1].time
        )
        result.firings.append(firing)
        if all(m.event_id != member.event_id for m in part):
            result.folds.append(self._fold(key, group_key, values, state, member))

    def _fire(
        self,
        key: _Key,
        group_key: str,
        values: dict[str, Any],
        state: State,
        plan: Plan,
        start: float,
        members: list[Member],
        metric: float,
        at: datetime,
    ) -> Firing:
        """Record a firing and start the current window after its end, written with the
        hit (if not written yet) in one go."""
        end = start + self.spec.timespan
        firing = Firing(
            rule_id=self.spec.rule_id,
            group_key=group_key,
            group_values=values,
            window_start=_time(start),
            window_end=_time(end),
            members=members[:MAX_LINKED],
            metric=metric,
            at=at,
        )
        state.fired = (start, end)
        self._move_start(key, state, plan, max(state.start, _after(end)), state.newest)
        plan.firing = firing
        self._write(key, state, plan, values, release=True)
        return firing

    # ---- conditions decided when the window closes ---------------------------------

    def _timer(self, group_key: str, start: float) -> str:
        return f"{self.spec.rule_id}|{group_key}|{start}"

    def _feed_closing(
        self,
        key: _Key,
        group_key: str,
        values: dict[str, Any],
        state: State,
        member: Member,
        encoded: str,
        read: Read,
        result: FeedResult,
    ) -> None:
        plan = Plan(hit=(member.ts, encoded))
        state.newest = max(state.newest, member.ts)
        if state.last is None or (member.ts, encoded) > tuple(state.last):
            state.last = (member.ts, encoded)
        if self._in_last_firing(state, member):
            self._write(key, state, plan, values, release=True)
            result.folds.append(self._fold(key, group_key, values, state, member))
            return
        start = state.opened
        if start is not None and member.ts > start + self.spec.timespan:
            self._write(key, state, plan, values, release=False)
            firing = self.close(key, group_key, start)  # its timer has not run yet
            result.firings.extend([firing] if firing else [])
            state = State.parse(self.redis.hgetall(key.name("h")))
            start = None
        if start is None or member.ts < start:
            if start is not None:
                plan.timer_remove = self._timer(group_key, start)
            state.opened = member.ts
            plan.timer_add = (self._timer(group_key, member.ts), member.ts + self.spec.timespan)
        self._write(key, state, plan, values, release=True)

    def close(self, key: _Key, group_key: str, start: float) -> Firing | None:
        """Decide the window opened at ``start`` and forget it (the key's lock is held).
        Its hits are read once, here (at most the per-key cap of them)."""
        self._flush()
        self.redis.zrem(timers_key(), self._timer(group_key, start))
        state = State.parse(self.redis.hgetall(key.name("h")))
        if state.opened == start:
            state.opened = None
            self.redis.hset(key.name("h"), "op", "")
        window = self._members(key, start, start + self.spec.timespan, max_key_hits())
        if not window:
            return None
        ok, metric = runs.satisfied(self.spec, window)
        if not ok:
            return None
        values = json.loads(self.redis.get(key.name("g")) or "{}")
        end = start + self.spec.timespan
        firing = Firing(
            rule_id=self.spec.rule_id,
            group_key=group_key,
            group_values=values,
            window_start=_time(start),
            window_end=_time(end),
            members=window[:MAX_LINKED],
            metric=metric,
            at=_time(end),
        )
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(key.name("fired"), firing_json(firing), ex=self.ttl)
        pipe.hset(key.name("h"), "fired", json.dumps((start, end)))
        pipe.execute()
        return firing

    def close_timer(self, group_key: str, start: float) -> Firing | None:
        key = _Key(self.redis, key_base(self.spec.rule_id, group_key))
        self._flush()
        with self.redis.lock(key.name("lock"), timeout=LOCK_MS / 1000, blocking_timeout=LOCK_WAIT):
            return self.close(key, group_key, start)
