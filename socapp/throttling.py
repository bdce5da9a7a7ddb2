"""Refused bearer tokens, counted per client address (personal API tokens and source
ingest tokens share the count): past TOKEN_FAILURE_LIMIT within TOKEN_FAILURE_WINDOW
seconds, the address gets 429 with Retry-After for every bearer token until the window
ends, before any token lookup.

A fixed window in Redis: the first failure starts it (INCR, then EXPIRE NX), so one
failure costs one round trip and a check costs one. Redis down means no throttling
(logged), never a refused good token: the tokens themselves still decide.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings

from .kv import kv

logger = logging.getLogger(__name__)

_PREFIX = "socapp:token-failures:"


def _key(address: str | None) -> str:
    return _PREFIX + (address or "unknown")


def token_failures_wait(address: str | None) -> int | None:
    """Seconds until ``address`` may present bearer tokens again; None when it may now."""
    try:
        with kv().pipeline(transaction=False) as pipe:
            pipe.get(_key(address))
            pipe.ttl(_key(address))
            count, ttl = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("token throttle unavailable (Redis): %s", exc)
        return None
    if count is None or int(count) < settings.TOKEN_FAILURE_LIMIT:
        return None
    return max(int(ttl), 1)


def token_failure_record(address: str | None) -> None:
    """Count one refused bearer token from ``address``."""
    try:
        with kv().pipeline(transaction=True) as pipe:
            pipe.incr(_key(address))
            pipe.expire(_key(address), settings.TOKEN_FAILURE_WINDOW, nx=True)
            pipe.execute()
    except redis.RedisError as exc:
        logger.warning("token throttle unavailable (Redis): %s", exc)


TOO_MANY = "Too many refused tokens from your address; retry after the time in Retry-After."


def forget_token_failures() -> None:
    """Drop every address's count (tests; an operator lifting a block early)."""
    client = kv()
    keys = list(client.scan_iter(f"{_PREFIX}*", count=500))
    if keys:
        client.delete(*keys)
