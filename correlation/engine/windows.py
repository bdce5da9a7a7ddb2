"""Sigma correlation windows, kept in Redis by event time.

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

Several workers may feed one key at once; a short Redis lock per key serializes them.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from socapp.kv import kv

from .spec import CorrelationSpec, evaluate_expression

PREFIX = "socapp:corr"
# The live engine's windows live under PREFIX; a backtest keeps its own in a scratch
# namespace (see ``scratch_namespace``) so it neither reads nor disturbs live state.
_namespace: ContextVar[str] = ContextVar("correlation_namespace", default=PREFIX)


def _prefix() -> str:
    return _namespace.get()


def _timers() -> str:
    return f"{_namespace.get()}:timers"


def _watermark() -> str:
    return f"{_namespace.get()}:watermark"


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


MAX_LINKED = 1000  # events linked to one correlation (the alert says how many in all)


@dataclass
class Member:
    event_id: str
    rule_id: str
    value: Any
    ts: float

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.ts, tz=UTC)


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
    """A hit inside a window that already fired: it belongs to that firing's alert."""

    firing: Firing
    member: Member


@dataclass
class FeedResult:
    firings: list[Firing] = field(default_factory=list)
    folds: list[Fold] = field(default_factory=list)
    late: int = 0
    skipped: int = 0  # hits without a group-by (or value) field


def lateness() -> int:
    return int(getattr(settings, "CORRELATION_ALLOWED_LATENESS", 300))


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


def _metric(spec: CorrelationSpec, members: list[Member]) -> float:
    kind = spec.kind
    if kind == "event_count":
        return float(len(members))
    if kind == "value_count":
        return float(len({json.dumps(m.value, default=str) for m in members}))
    if kind == "temporal":
        return float(len({m.rule_id for m in members}))
    if kind == "temporal_ordered":
        position = 0
        for member in members:  # members are in event-time order
            if position < len(spec.rules) and member.rule_id == spec.rules[position]:
                position += 1
        return float(position)
    numbers = [float(m.value) for m in members if isinstance(m.value, int | float)]
    if not numbers:
        return 0.0
    if kind == "value_sum":
        return sum(numbers)
    if kind == "value_avg":
        return statistics.fmean(numbers)
    if kind in ("value_percentile", "value_median"):
        percent = 50 if kind == "value_median" else (spec.percentile or 50)
        ordered = sorted(numbers)
        index = max(0, min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1))))
        return ordered[index]
    raise ValueError(f"unknown correlation type {kind}")


def _prefix_metrics(spec: CorrelationSpec, members: list[Member]) -> Iterator[float]:
    """The metric of each leading part of ``members`` (1, 2, ... members), computed as
    it grows where the metric allows it."""
    kind = spec.kind
    if kind == "event_count":
        yield from (float(n) for n in range(1, len(members) + 1))
    elif kind in ("value_count", "temporal"):
        seen: set[str] = set()
        for member in members:
            seen.add(
                json.dumps(member.value, default=str) if kind == "value_count" else member.rule_id
            )
            yield float(len(seen))
    elif kind in ("value_sum", "value_avg"):
        total, count = 0.0, 0
        for member in members:
            if isinstance(member.value, int | float):
                total, count = total + float(member.value), count + 1
            yield (total if kind == "value_sum" else total / count) if count else 0.0
    else:
        yield from (_metric(spec, members[:n]) for n in range(1, len(members) + 1))


def _first_satisfying(spec: CorrelationSpec, window: list[Member]) -> tuple[int, float] | None:
    """The length and metric of the shortest leading part of ``window`` that satisfies the
    condition: when, in event time, the window started to hold. A firing is made of that
    part, so it comes out the same however the hits arrived (in order, late, replayed)."""
    if spec.expression is not None:
        for end in range(1, len(window) + 1):
            ok, metric = _satisfied(spec, window[:end])
            if ok:
                return end, metric
        return None
    for end, metric in enumerate(_prefix_metrics(spec, window), start=1):
        if spec.holds(metric) and (
            spec.max_jitter is None or _evenly_spaced(window[:end], spec.max_jitter)
        ):
            return end, metric
    return None


def _evenly_spaced(members: list[Member], max_jitter: float) -> bool:
    """Whether the gaps between the hits vary by at most ``max_jitter`` of their mean
    (coefficient of variation): what a beacon's check-ins look like, and people's
    browsing does not."""
    gaps = [b.ts - a.ts for a, b in itertools.pairwise(members)]
    if len(gaps) < 2:
        return False
    mean = statistics.fmean(gaps)
    return mean > 0 and statistics.pstdev(gaps) / mean <= max_jitter


def _satisfied(spec: CorrelationSpec, members: list[Member]) -> tuple[bool, float]:
    if spec.expression is not None:
        present = {m.rule_id for m in members}
        ok = evaluate_expression(spec.expression, present, spec.expression_names)
        return ok, float(len(present))
    metric = _metric(spec, members)
    return spec.holds(metric), metric


def _member_value(spec: CorrelationSpec, rule_id: str, lookup: Any) -> tuple[bool, Any]:
    if spec.kind in ("event_count", "temporal", "temporal_ordered"):
        return True, None
    raw = [_scalar(lookup(spec.group_field(name, rule_id))) for name in spec.value_fields]
    if any(v is None for v in raw):
        return False, None
    if spec.kind == "value_count":
        return True, raw[0] if len(raw) == 1 else raw
    try:
        return True, float(raw[0])
    except (TypeError, ValueError):
        return False, None


def _encode(member: Member) -> str:
    return json.dumps([member.event_id, member.rule_id, member.value], default=str)


def _decode(raw: bytes, score: float) -> Member:
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


class Windows:
    """The correlation state of one rule; ``feed`` hits in, get firings and folds out."""

    def __init__(self, spec: CorrelationSpec) -> None:
        self.spec = spec
        self.redis = kv()

    def feed(self, rule_id: str, event_id: str, ts: datetime, lookup: Any) -> FeedResult:
        result = FeedResult()
        spec = self.spec
        values = group_values(spec, rule_id, lookup)
        ok, value = _member_value(spec, rule_id, lookup)
        if values is None or not ok:
            result.skipped += 1
            return result
        key = group_key_of(values)
        base = _base(spec.rule_id, key)
        member = Member(event_id, rule_id, value, ts.timestamp())
        with self.redis.lock(f"{base}:lock", timeout=30, blocking_timeout=30):
            newest = float(self.redis.get(f"{base}:x") or 0.0)
            if member.ts < newest - lateness():
                result.late += 1
                return result
            self._remember(base, member, values, max(newest, member.ts))
            fired = self.redis.get(f"{base}:fired")
            if fired is not None:
                last = _firing_from(fired)
                if last.window_start.timestamp() <= member.ts <= last.window_end.timestamp():
                    result.folds.append(Fold(last, member))
                    return result
            if spec.decided_at_close:
                result.firings.extend(self._open_or_close(base, key, values, member))
            else:
                firing = self._decide(base, key, values, member)
                if firing is not None:
                    result.firings.append(firing)
                    if all(m.event_id != member.event_id for m in firing.members):
                        # the window already held before this hit (a replay): it folds in
                        result.folds.append(Fold(firing, member))
        return result

    def _remember(self, base: str, member: Member, values: dict[str, Any], newest: float) -> None:
        ttl = self.spec.timespan * 2 + lateness() + 3600
        pipe = self.redis.pipeline()
        pipe.zadd(f"{base}:m", {_encode(member): member.ts})
        pipe.expire(f"{base}:m", ttl)
        pipe.set(f"{base}:g", json.dumps(values, default=str), ex=ttl)
        pipe.set(f"{base}:x", newest, ex=ttl)
        # forget what no window can reach any more
        pipe.zremrangebyscore(f"{base}:m", "-inf", newest - self.spec.timespan - lateness() - 1)
        pipe.execute()
        self.redis.set(_watermark(), max(float(self.redis.get(_watermark()) or 0.0), member.ts))

    def _members(self, base: str, low: float, high: float) -> list[Member]:
        rows = self.redis.zrangebyscore(f"{base}:m", low, high, withscores=True)
        members = [_decode(raw, score) for raw, score in rows]
        members.sort(key=lambda m: (m.ts, m.event_id))
        return members

    def _after_last_firing(self, base: str) -> float:
        fired = self.redis.get(f"{base}:fired")
        return _firing_from(fired).window_end.timestamp() if fired is not None else float("-inf")

    def _decide(self, base: str, key: str, values: dict[str, Any], member: Member) -> Firing | None:
        """Does some window containing ``member`` now satisfy the condition?"""
        span = self.spec.timespan
        floor = self._after_last_firing(base)
        members = [
            m for m in self._members(base, member.ts - span, member.ts + span) if m.ts > floor
        ]
        times = [m.ts for m in members]
        for start_index, start in enumerate(times):
            if start > member.ts:
                break
            end_index = bisect.bisect_right(times, start + span)
            window = members[start_index:end_index]
            if not any(m.event_id == member.event_id for m in window):
                continue
            found = _first_satisfying(self.spec, window)
            if found is not None:
                length, metric = found
                part = window[:length]
                return self._fire(base, key, values, part, start, metric, part[-1].time)
        return None

    def _fire(
        self,
        base: str,
        key: str,
        values: dict[str, Any],
        window: list[Member],
        start: float,
        metric: float,
        at: datetime,
    ) -> Firing:
        firing = Firing(
            rule_id=self.spec.rule_id,
            group_key=key,
            group_values=values,
            window_start=datetime.fromtimestamp(start, tz=UTC),
            window_end=datetime.fromtimestamp(start + self.spec.timespan, tz=UTC),
            members=window[:MAX_LINKED],
            metric=metric,
            at=at,
        )
        ttl = self.spec.timespan * 2 + lateness() + 3600
        self.redis.set(f"{base}:fired", _firing_json(firing), ex=ttl)
        return firing

    # ---- conditions decided when the window closes --------------------------------

    def _open_or_close(
        self, base: str, key: str, values: dict[str, Any], member: Member
    ) -> list[Firing]:
        firings: list[Firing] = []
        opened = self.redis.get(f"{base}:open")
        start = float(opened) if opened is not None else None
        if start is not None and member.ts > start + self.spec.timespan:
            firing = self.close(base, key, start)  # its timer has not run yet
            firings.extend([firing] if firing else [])
            start = None
        if start is None or member.ts < start:
            if start is not None:
                self.redis.zrem(_timers(), f"{self.spec.rule_id}|{key}|{start}")
            start = member.ts
            self.redis.set(f"{base}:open", start, ex=self.spec.timespan * 2 + lateness() + 3600)
            self.redis.zadd(
                _timers(), {f"{self.spec.rule_id}|{key}|{start}": start + self.spec.timespan}
            )
        return firings

    def close(self, base: str, key: str, start: float) -> Firing | None:
        """Decide the window opened at ``start`` and forget it."""
        self.redis.zrem(_timers(), f"{self.spec.rule_id}|{key}|{start}")
        self.redis.delete(f"{base}:open")
        window = self._members(base, start, start + self.spec.timespan)
        if not window:
            return None
        ok, metric = _satisfied(self.spec, window)
        values = json.loads(self.redis.get(f"{base}:g") or "{}")
        if not ok:
            return None
        end = datetime.fromtimestamp(start + self.spec.timespan, tz=UTC)
        return self._fire(base, key, values, window, start, metric, end)


def due_timers(now: float) -> list[tuple[str, str, float]]:
    """(rule id, group key, window start) of windows whose end plus lateness has passed,
    by event time (the newest hit seen) or by the wall clock."""
    redis = kv()
    watermark = max(float(redis.get(_watermark()) or 0.0), now)
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
