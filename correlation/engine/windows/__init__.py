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
the number of hits a key holds):

- Beside the hits, each key keeps the running figures of its *current window* - the hits
  of the last ``timespan`` (up to the newest) after the last firing: their count, exact
  sum, per-value counters (distinct values, rules seen), an order-statistic set (percentile,
  median), the sum and sum of squares of their gaps (beacons), and for ordered temporal
  rules the latest start of each partial sequence. A hit entering adds itself; hits leaving
  (the window's start moves on, or a firing) are read once, when they leave.
- A hit that is the newest of its key (the usual case: a batch is fed in event-time
  order) can only complete windows that run to it. For the counting types the earliest of
  them, the current window, is the one a firing is made of - the shortest run of hits that
  satisfies, dated by its last - so the running figures decide exactly. Averages,
  percentiles, signed sums and beacon spacing are judged on the current window too (the
  window that ends at the hit).
- A hit that arrives out of order is checked against every window containing it, from the
  hits around it (at most ``LATE_SCAN`` of them; in a denser key only the current window is
  checked).
- One hit costs two scripts (``store.READ_SCRIPT`` takes the key's lock and reads,
  ``store.WRITE_SCRIPT`` writes the hit, the figures and a firing, and lets go), and one
  more round trip when it fires; the engine sends each WRITE with the next READ
  (``deferred.py``), so a hit costs one round trip. What a worker killed in between
  leaves is a hit stored without its firing, which the replay of that hit decides again.
- At most ``CORRELATION_MAX_KEY_HITS`` hits are kept per key, and a value longer than 200
  characters is kept as its digest, so a stored firing (at most ``MAX_LINKED`` hits) stays
  small.
"""

from __future__ import annotations

from ..runs import Member
from .feed import LATE_SCAN, Windows
from .hits import FeedResult, Fold, group_key_of, key_base
from .store import (
    MAX_LINKED,
    WORK,
    Firing,
    lateness,
    prefix,
    scratch_namespace,
    timers_key,
    watermark_key,
)
from .timers import close_timer, due_timers, forget_rule

__all__ = [
    "LATE_SCAN",
    "MAX_LINKED",
    "WORK",
    "FeedResult",
    "Firing",
    "Fold",
    "Member",
    "Windows",
    "close_timer",
    "due_timers",
    "forget_rule",
    "group_key_of",
    "key_base",
    "lateness",
    "prefix",
    "scratch_namespace",
    "timers_key",
    "watermark_key",
]
