"""Windows decided when they close: which are due, closing one, forgetting a rule."""

from __future__ import annotations

from typing import cast

from socapp.kv import kv

from ..spec import CorrelationSpec
from .feed import Windows
from .store import Firing, lateness, prefix, timers_key, watermark_key


def due_timers(now: float) -> list[tuple[str, str, float]]:
    """(rule id, group key, window start) of windows whose end plus lateness has passed,
    by event time (the newest hit seen) or by the wall clock."""
    redis = kv()
    watermark = max(float(redis.zscore(watermark_key(), "w") or 0.0), now)
    # Asked without scores, ZRANGE answers members only (redis-py's types cannot tell).
    due = cast(list[bytes], redis.zrangebyscore(timers_key(), "-inf", watermark - lateness()))
    timers = []
    for raw in due:
        parts = raw.decode().split("|")
        rule_id, start_text = parts[0], parts[-1]
        key = "|".join(parts[1:-1])
        timers.append((rule_id, key, float(start_text)))
    return timers


def close_timer(spec: CorrelationSpec, key: str, start: float) -> Firing | None:
    return Windows(spec).close_timer(key, start)


def forget_rule(rule_id: str) -> None:
    """Drop every window of a rule (used by tests and when a rule is deleted)."""
    redis = kv()
    for name in redis.scan_iter(f"{prefix()}:{rule_id}:*"):
        redis.delete(name)
    for raw in cast(list[bytes], redis.zrange(timers_key(), 0, -1)):
        if raw.decode().startswith(f"{rule_id}|"):
            redis.zrem(timers_key(), raw)
