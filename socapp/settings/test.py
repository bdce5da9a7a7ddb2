"""Test settings: ``base`` against the real PostgreSQL and Redis, with two speed-ups.

Eager Celery is for unit tests only; integration tests start a real worker
(tests/conftest.py ``celery_worker_process``) which runs with ``base`` settings.
"""

import os

# Tests never depend on a developer's secrets; base refuses to start without a key.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from .base import *  # noqa: F403
from .base import env

# Tests get their own Redis database so a running `make run` never sees their keys.
REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [REDIS_URL]  # noqa: F405
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default=REDIS_URL)

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
