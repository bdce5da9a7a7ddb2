"""Identifier helpers.

Events get time-ordered UUIDs (version 7, RFC 9562) so that rows written together sit
together in the primary-key index. Identities that must be reproducible (alerts) use
``uuid5`` over a stable key instead.

The ids one process makes are **monotonic**: each is greater than the one before it
(RFC 9562 §6.2, method 1: a counter after the milliseconds, seeded at random each new
millisecond and counted up within one). Ingest makes an event's id as the event is read,
so for the events of one stream (a request, a file, a syslog sender's batches) the order
of (event time, event id) is the order of the stream, even when a second's worth of lines
share one timestamp — "followed by" correlations rely on it.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from datetime import datetime

_random = random.Random()
SOCAPP_NAMESPACE = uuid.UUID("6f1d3c1e-9a57-4f4e-8d0a-3c2b7a9e5d10")

_MILLIS_MASK = (1 << 48) - 1
_COUNTER_BITS = 42  # the 12 bits of rand_a and the 30 leading bits of rand_b
_TAIL_BITS = 32  # the rest of rand_b: random in every id
_lock = threading.Lock()
_last_millis = -1
_counter = 0


def _after_fork_in_child() -> None:
    """A forked worker must not repeat its parent's ids: ``random`` re-seeds only its own
    module-level generator in a child, not this one, so it is re-seeded here, and the
    child's ids start a sequence of their own."""
    global _lock, _last_millis
    _random.seed()
    _lock, _last_millis = threading.Lock(), -1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def uuid7(at: datetime | None = None) -> uuid.UUID:
    """A version-7 UUID: 48 bits of Unix milliseconds, a 42-bit counter, 32 random bits.

    Without ``at`` the id is greater than every id this process made before (the clock's
    millisecond, or the last one used if the clock stepped back; a counter that runs out
    moves on to the next millisecond). With ``at`` its time is ``at``'s and its counter
    random.

    The random bits identify, they do not protect: they come from ``random`` (seeded from
    the OS at start and again in every forked child), which is a syscall cheaper than
    ``os.urandom`` per id; ingest makes tens of thousands of ids a second. Nothing relies on
    them being unpredictable, only on ids being unique.
    """
    if at is not None:
        return _compose(int(at.timestamp() * 1000), _fresh_counter())
    millis, counter = _next_in_order(time.time_ns() // 1_000_000)
    return _compose(millis, counter)


def uuid7_floor(at: datetime) -> uuid.UUID:
    """The smallest version-7 UUID of ``at``'s millisecond: ``id >= uuid7_floor(t1) AND
    id < uuid7_floor(t2)`` selects the ids made in [t1, t2) (to the millisecond) through
    an index on the ids, which sort by the time they were made."""
    millis = int(at.timestamp() * 1000) & _MILLIS_MASK
    return uuid.UUID(int=(millis << 80) | (0x7 << 76) | (0b10 << 62))


def _fresh_counter() -> int:
    # the leading bit stays 0, so a millisecond has room for at least 2**41 more ids
    return _random.getrandbits(_COUNTER_BITS - 1)


def _next_in_order(now_millis: int) -> tuple[int, int]:
    """The (milliseconds, counter) after the last this process used."""
    global _last_millis, _counter
    with _lock:
        if now_millis > _last_millis:
            _last_millis, _counter = now_millis, _fresh_counter()
        elif _counter + 1 < 1 << _COUNTER_BITS:
            _counter += 1
        else:  # the counter ran out within one millisecond: borrow the next one
            _last_millis, _counter = _last_millis + 1, _fresh_counter()
        return _last_millis, _counter


def _compose(millis: int, counter: int) -> uuid.UUID:
    value = (millis & _MILLIS_MASK) << 80
    value |= 0x7 << 76  # version
    value |= (counter >> 30) << 64  # rand_a: the counter's 12 leading bits
    value |= 0b10 << 62  # variant
    value |= (counter & ((1 << 30) - 1)) << _TAIL_BITS  # rand_b: the counter's 30 others
    value |= _random.getrandbits(_TAIL_BITS)
    return uuid.UUID(int=value)


def uuid_right_after(previous: uuid.UUID | str, *parts: object) -> uuid.UUID:
    """An id for something that happened at ``previous``'s place in a stream (a
    correlation firing on that event): ``previous``'s milliseconds and counter, then 32
    bits derived from ``parts`` (the same parts, the same id). Among the ids of one
    process it sorts next to ``previous`` and before every id made after it."""
    head = uuid.UUID(str(previous)).int >> _TAIL_BITS
    tail = stable_uuid(*parts).int & ((1 << _TAIL_BITS) - 1)
    return uuid.UUID(int=(head << _TAIL_BITS) | tail)


def stable_uuid(*parts: object) -> uuid.UUID:
    """A deterministic UUID for an identity made of ``parts`` (same parts, same id)."""
    return uuid.uuid5(SOCAPP_NAMESPACE, "\x1f".join(str(p) for p in parts))


def is_uuid(text: str) -> bool:
    """Whether ``text`` reads as a UUID (ids from URLs and entities, before a query)."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
