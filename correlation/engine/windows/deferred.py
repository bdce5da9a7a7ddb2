"""A hit's last write, sent with the next round trip instead of on its own.

Deciding a hit takes two round trips: READ (take the key's lock, read) and WRITE (store
the hit and the figures, let go). Inside ``deferred_writes()`` - the engine's loop over a
batch's hits - the WRITE that lets go of a key waits, and travels in one pipeline with
whatever the windows send next (usually the next hit's READ): one round trip a hit
instead of two. A single-account brute force feeds two correlation rules per failure,
so that is four round trips a failure down to two.

Nothing changes in what is written or in which order: a pending write goes out before any
other command of the windows (the engine's other Redis keys are not the windows'), and
leaving the block sends what is left, whatever happened inside it - an exception that
fails the batch still leaves each decided hit written and each key let go, as before.
The key stays locked while its write waits, as it was while it was being decided.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis.exceptions import NoScriptError

Call = tuple[str, list[str], list[Any]]  # script text, keys, arguments


class _Pending(threading.local):
    def __init__(self) -> None:
        self.on = False
        self.client: Any = None
        self.writes: list[Call] = []


_PENDING = _Pending()
_LOADED: set[tuple[int, str]] = set()  # (client, sha) pairs known to be loaded


def _sha_loaded(client: Any, text: str) -> str:
    """The script's SHA1, loaded into Redis once per client (a pipeline cannot fall back
    from EVALSHA to EVAL the way a single call does)."""
    sha = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
    if (id(client), sha) not in _LOADED:
        client.script_load(text)
        _LOADED.add((id(client), sha))
    return sha


@contextmanager
def deferred_writes() -> Iterator[None]:
    if _PENDING.on:  # nested: the outer block sends
        yield
        return
    _PENDING.on = True
    try:
        yield
    finally:
        _PENDING.on = False
        send_pending()


def defer(client: Any, call: Call) -> bool:
    """Keep ``call`` for the next round trip; False outside ``deferred_writes()``."""
    if not _PENDING.on:
        return False
    if _PENDING.client is not None and _PENDING.client is not client:
        send_pending()
    _PENDING.client = client
    _PENDING.writes.append(call)
    return True


def pending() -> int:
    return len(_PENDING.writes)


def send_pending(then: Call | None = None) -> Any:
    """Send the pending writes, and ``then`` after them, in one round trip; ``then``'s
    reply (None without one)."""
    writes, client = _PENDING.writes, _PENDING.client
    _PENDING.writes, _PENDING.client = [], None
    if not writes:
        return None
    calls = [*writes, *([then] if then is not None else [])]
    pipe = client.pipeline(transaction=False)
    for text, keys, args in calls:
        pipe.evalsha(_sha_loaded(client, text), len(keys), *keys, *args)
    try:
        replies = pipe.execute()
    except NoScriptError:  # Redis lost its scripts (a restart): load them next time
        _LOADED.clear()
        raise
    return replies[-1] if then is not None else None
