"""Test settings: ``base`` against the real PostgreSQL and Redis, with two speed-ups.

Eager Celery is for unit tests only; integration tests start a real worker (and beat)
as separate processes running ``base`` settings against the same test database.
"""

import os

# Tests never depend on a developer's secrets; base refuses to start without a key.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from .base import *  # noqa: F403
from .base import env

# Each pytest-xdist worker gets Redis databases of its own (cache and channels; a broker
# for the real Celery processes), and none of them is the one `make run` uses (0).
_worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
# Room for four workers (cache 15-12, brokers 11-8); scripts/test.sh asks for at most four.
assert _worker < 4, "at most four pytest-xdist workers (--maxprocesses=4)"
REDIS_URL = env.str("TEST_REDIS_URL", default=f"redis://127.0.0.1:6379/{15 - _worker}")
CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [channel_layer_host(REDIS_URL)]  # noqa: F405
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default=REDIS_URL)
TEST_WORKER_BROKER_URL = env.str(
    "TEST_WORKER_BROKER_URL", default=f"redis://127.0.0.1:6379/{11 - _worker}"
)

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only

# Tests serve static files straight from the apps (no collectstatic step needed).
SERVESTATIC_USE_FINDERS = True
SERVESTATIC_USE_STATIC_ROOT = False

# Transactional tests reset the database with a flush that steps around the audit log's
# TRUNCATE guard as a superuser may (tests/dbflush); deployments have no such command.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.dbflush"]  # noqa: F405

# The search answers with what it read inside a time budget (250 ms, then "searched back
# to ..."). A test that asserts exact results must not depend on how busy the machine
# is; the tests of the budget itself set these to 0 or 1.
SEARCH_TIME_BUDGET_MS = 10_000
SEARCH_COUNT_TIMEOUT_MS = 10_000
