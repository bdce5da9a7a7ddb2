"""The shared Redis connection (rule-set generation, correlation windows, counters)."""

from __future__ import annotations

import functools

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
    )


def kv() -> redis.Redis:
    """A client for settings.REDIS_URL (one pool per process and URL)."""
    return _client(settings.REDIS_URL)


def text(reply: bytes | str) -> str:
    """A reply as text. This client returns bytes (it does not decode replies), which
    redis-py's types cannot know, so they say ``bytes | str``."""
    return reply.decode() if isinstance(reply, bytes) else reply


def cache_client(*, write: bool) -> redis.Redis:
    """The Redis client behind Django's cache (CACHES uses Django's Redis backend), for
    what the cache API cannot do (hashes of counters)."""
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    return backend._cache.get_client(write=write)
