"""Shared fixtures: reference data, the named personas, and real-process helpers.

Personas (each a real user with a real role):
  analyst_a / analyst_b  analysts of team A / team B
  manager                incident manager (sees and assigns every team's cases)
  soc_admin              SOC admin role, staff (manages users, roles, teams in the admin)
  auditor                read-only auditor (reads everything, changes nothing)
  integration            integration role, member of team A (machine account)
  nobody                 an active user without any role
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from scripts.processes import ProcessGroup
from socapp import roles
from socapp.roof.bootstrap import (
    BootstrapReport,
    ensure_default_team,
    ensure_roles,
    ensure_severities,
)
from tests.factories import TeamFactory, UserFactory

# Local webhook and SMTP receivers (fixtures webhook_receiver, smtp_receiver).
# A small MaxMind-format database of our own (fixture geo_database).
pytest_plugins = ["tests.receivers", "tests.geodb"]

ROOT = Path(__file__).resolve().parent.parent

# Property tests (hypothesis): a moderate number of examples in the suite; bench runs ask
# for more with HYPOTHESIS_PROFILE=long. No deadline: the machine is shared, and time is
# not what these tests assert.
hypothesis_settings.register_profile(
    "default",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.register_profile(
    "long",
    max_examples=5_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Caches and Redis counts that outlive a test's rolled-back transaction must not
    carry over into the next test."""
    from assets.index import forget as forget_inventory
    from correlation.engine import ruleset
    from events.enrichment import assets
    from events.ingest import forget_event_types
    from intel.indicator_set import indicator_set
    from socapp.audit_access import forget_bounds
    from socapp.geoip import geoip
    from socapp.throttling import forget_token_failures

    def forget() -> None:
        forget_event_types()
        geoip.forget()
        assets.forget()
        forget_inventory()
        indicator_set.forget()
        ruleset.forget()
        # Counts kept in Redis by client address (127.0.0.1 for every test client).
        forget_bounds()
        forget_token_failures()

    forget()
    yield
    forget()


@pytest.fixture(autouse=True)
def _fresh_token_throttle():
    """Refused-token counts live in Redis, beyond a test's transaction: each test starts
    with none, as if its client's address had never sent a bad token."""
    from socapp.kv import kv

    client = kv()
    for key in client.scan_iter(match="socapp:token-failures:*"):
        client.delete(key)
    yield


@pytest.fixture
def reference_data(db) -> None:
    """Severities, roles and the default team, as `manage.py bootstrap` makes them.

    Function-scoped because transactional tests flush every table when they end.
    """
    report = BootstrapReport()
    ensure_severities(report)
    ensure_roles(report)
    ensure_default_team(report)


def _persona(username: str, role: str | None, team=None, staff: bool = False):
    user = UserFactory.create(username=username, is_staff=staff)
    if role:
        user.groups.add(Group.objects.get(name=role))
    if team is not None:
        team.members.add(user)
    return user


@pytest.fixture
def team_a(reference_data):
    return TeamFactory(name="Team A")


@pytest.fixture
def team_b(reference_data):
    return TeamFactory(name="Team B")


@pytest.fixture
def analyst_a(team_a):
    return _persona("analyst_a", roles.ANALYST, team_a)


@pytest.fixture
def analyst_b(team_b):
    return _persona("analyst_b", roles.ANALYST, team_b)


@pytest.fixture
def manager(reference_data):
    return _persona("manager", roles.INCIDENT_MANAGER)


@pytest.fixture
def soc_admin(reference_data):
    return _persona("soc_admin", roles.SOC_ADMIN, staff=True)


@pytest.fixture
def auditor(reference_data):
    return _persona("auditor", roles.AUDITOR, staff=True)


@pytest.fixture
def integration(team_a):
    return _persona("integration", roles.INTEGRATION, team_a)


@pytest.fixture
def nobody(reference_data):
    return _persona("nobody", None)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


# ---- real processes (started with scripts/processes.py) ------------------------------


def current_database_url() -> str:
    """DATABASE_URL of the database this test process uses (test_<name>)."""
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def indicators_caught_up() -> None:
    """This process notices the change of the indicator set and its background build
    lands: what the next batch after a change starts in production (with
    INTEL_MATCH_CHECK_SECONDS at 0), done here, before the batch that should see it."""
    from intel.indicator_set import indicator_set

    indicator_set.fresh()
    assert indicator_set.wait(60)


def app_env(**overrides: str) -> dict[str, str]:
    """Environment for a socapp process (base settings) sharing this test's database."""
    from django.conf import settings

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "socapp.settings.base",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": current_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PYTHONUNBUFFERED": "1",
    }
    env.update(overrides)
    return env


@pytest.fixture
def process_group() -> Iterator[ProcessGroup]:
    """Processes a test starts (``process_group.add(start_web(...))``), all stopped when
    it ends."""
    with ProcessGroup() as group:
        yield group
