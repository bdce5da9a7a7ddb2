"""The arithmetic of correlation windows, free of Redis: the metric of a run of hits, the
shortest satisfying run of a window, and the exact search among the windows that contain a
hit. ``windows.py`` keeps the state and calls these on the few hits it has in hand."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from .spec import CorrelationSpec, evaluate_expression

# A value longer than this is stored as its digest: distinct values stay distinct, and no
# event can make one member (and so a key's state) arbitrarily large.
MAX_VALUE_CHARS = 200


@dataclass
class Member:
    event_id: str
    rule_id: str
    value: Any
    ts: float

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.ts, tz=UTC)


def bounded_value(value: Any) -> Any:
    """``value``, or its digest when its text is long (distinctness is what counts)."""
    text = json.dumps(value, default=str)
    if len(text) <= MAX_VALUE_CHARS:
        return value
    return "sha1:" + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def value_key(value: Any) -> str:
    return json.dumps(value, default=str)


def micros(ts: float) -> int:
    """Event time in whole microseconds (what a timestamp holds): gaps add up exactly."""
    return round(ts * 1_000_000)


def percentile_index(spec: CorrelationSpec, count: int) -> int:
    percent = 50 if spec.kind == "value_median" else (spec.percentile or 50)
    return max(0, min(count - 1, round(percent / 100 * (count - 1))))


def ordered_progress(rules: list[str], rule_ids: Iterator[str] | list[str]) -> int:
    """How many of ``rules`` were seen in their order (greedily) in ``rule_ids``."""
    position = 0
    for rule_id in rule_ids:
        if position < len(rules) and rule_id == rules[position]:
            position += 1
    return position


def evenly_spaced_gaps(count: int, gap_sum: int, gap_squares: int, max_jitter: float) -> bool:
    """Whether ``count`` gaps (µs) whose sum and sum of squares are given vary by at most
    ``max_jitter`` of their mean (coefficient of variation): what a beacon's check-ins look
    like, and people's browsing does not. Exact integers, so running sums never drift."""
    if count < 2 or gap_sum <= 0:
        return False
    variance_times_n2 = count * gap_squares - gap_sum * gap_sum  # n² · population variance
    return Fraction(max(variance_times_n2, 0)) <= Fraction(max_jitter) ** 2 * gap_sum * gap_sum


def evenly_spaced(members: list[Member], max_jitter: float) -> bool:
    gaps = [micros(b.ts) - micros(a.ts) for a, b in itertools.pairwise(members)]
    return evenly_spaced_gaps(len(gaps), sum(gaps), sum(g * g for g in gaps), max_jitter)


def metric(spec: CorrelationSpec, members: list[Member]) -> float:
    kind = spec.kind
    if kind == "event_count":
        return float(len(members))
    if kind == "value_count":
        return float(len({value_key(m.value) for m in members}))
    if kind == "temporal":
        return float(len({m.rule_id for m in members}))
    if kind == "temporal_ordered":
        return float(ordered_progress(spec.rules, [m.rule_id for m in members]))
    numbers = [m.value for m in members if isinstance(m.value, int | float)]
    if not numbers:
        return 0.0
    if kind == "value_sum":
        return float(sum(Fraction(n) for n in numbers))
    if kind == "value_avg":
        return float(sum(Fraction(n) for n in numbers) / len(numbers))
    if kind in ("value_percentile", "value_median"):
        return float(sorted(numbers)[percentile_index(spec, len(numbers))])
    raise ValueError(f"unknown correlation type {kind}")


def prefix_metrics(spec: CorrelationSpec, members: list[Member]) -> Iterator[float]:
    """The metric of each leading part of ``members`` (1, 2, ... members), each computed
    from the one before: O(n) for one window (a percentile: O(n log n) comparisons)."""
    kind = spec.kind
    if kind == "event_count":
        yield from (float(n) for n in range(1, len(members) + 1))
    elif kind in ("value_count", "temporal"):
        seen: set[str] = set()
        for member in members:
            seen.add(value_key(member.value) if kind == "value_count" else member.rule_id)
            yield float(len(seen))
    elif kind == "temporal_ordered":
        position = 0
        for member in members:
            if position < len(spec.rules) and member.rule_id == spec.rules[position]:
                position += 1
            yield float(position)
    elif kind in ("value_sum", "value_avg"):
        total, count = Fraction(0), 0
        for member in members:
            if isinstance(member.value, int | float):
                total, count = total + Fraction(member.value), count + 1
            yield float(total if kind == "value_sum" else total / count) if count else 0.0
    else:
        ordered: list[float] = []
        for member in members:
            if isinstance(member.value, int | float):
                bisect.insort(ordered, member.value)
            yield ordered[percentile_index(spec, len(ordered))] if ordered else 0.0


def satisfied(spec: CorrelationSpec, members: list[Member]) -> tuple[bool, float]:
    """The whole run's verdict and metric (a window decided when it closes)."""
    if spec.expression is not None:
        present = {m.rule_id for m in members}
        ok = evaluate_expression(spec.expression, present, spec.expression_names)
        return ok, float(len(present))
    value = metric(spec, members)
    return spec.holds(value), value


def first_satisfying(spec: CorrelationSpec, window: list[Member]) -> tuple[int, float] | None:
    """The length and metric of the shortest leading part of ``window`` that satisfies the
    condition: when, in event time, the window started to hold."""
    if spec.expression is not None:
        present: set[str] = set()
        for end, member in enumerate(window, start=1):
            present.add(member.rule_id)
            if evaluate_expression(spec.expression, present, spec.expression_names):
                return end, float(len(present))
        return None
    gaps = [0, 0]  # sum and sum of squares of the gaps so far (beacons)
    for end, value in enumerate(prefix_metrics(spec, window), start=1):
        if end > 1 and spec.max_jitter is not None:
            gap = micros(window[end - 1].ts) - micros(window[end - 2].ts)
            gaps[0], gaps[1] = gaps[0] + gap, gaps[1] + gap * gap
        if spec.holds(value) and (
            spec.max_jitter is None
            or evenly_spaced_gaps(end - 1, gaps[0], gaps[1], spec.max_jitter)
        ):
            return end, value
    return None


def earliest_firing(
    spec: CorrelationSpec, members: list[Member], hit: Member
) -> tuple[float, list[Member], float] | None:
    """Among the windows (opened by each hit in turn, inclusive of their end) that contain
    ``hit``, the earliest one with a satisfying run: (its start, the run, the metric).
    ``members`` are the hits around ``hit`` (within a timespan either side, after the last
    firing), in event-time order."""
    span = spec.timespan
    times = [m.ts for m in members]
    hit_key = (hit.ts, hit.event_id, hit.rule_id)
    for start_index, start in enumerate(times):
        if start > hit.ts:
            break
        if start < hit.ts - span:
            continue
        end_index = bisect.bisect_right(times, start + span)
        window = members[start_index:end_index]
        if not any((m.ts, m.event_id, m.rule_id) == hit_key for m in window):
            continue
        found = first_satisfying(spec, window)
        if found is not None:
            length, value = found
            return start, window[:length], value
    return None


def extend_chains(rules: list[str], chains: list[float | None], hit: Member) -> list[float | None]:
    """For each leading part of ``rules``, the latest start of a run seen in order that
    matches it, after ``hit`` (the newest) - the sequence a temporal_ordered rule needs."""
    chains = list(chains) + [None] * (len(rules) - len(chains))
    for position in range(len(rules) - 1, -1, -1):  # from the end: one hit, one step
        if rules[position] != hit.rule_id:
            continue
        candidate = hit.ts if position == 0 else chains[position - 1]
        current = chains[position]
        if candidate is not None and (current is None or candidate > current):
            chains[position] = candidate
    return chains


def chain_progress(chains: list[float | None], start: float) -> int:
    """How many of the rules were seen in order within the window starting at ``start``."""
    progress = 0
    for position, begun in enumerate(chains):
        if begun is not None and begun >= start:
            progress = position + 1
    return progress
