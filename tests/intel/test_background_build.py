"""The indicator index is rebuilt in the background: ingest keeps matching with the index
it has while a newer one is built, swaps when it is ready, and a catch-up retro-hunt
finds, in the events matched meanwhile, the indicators the new index added. A process
without an index builds it before its first batch is matched.

The build is held by the test (a builder that waits for an Event) so that what happens
during it is counted, not timed."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event
from events.services import source_create
from intel.indicator_set import build_index, indicator_set
from intel.models import IocMatch, RetroHunt
from socapp.roof.bootstrap import BootstrapReport, ensure_rule_pack
from tests.events.test_ingest_api import post
from tests.factories import IOCFactory, ThreatIntelFactory

# The build thread reads the database on its own connection: it sees committed rows only.
pytestmark = pytest.mark.django_db(transaction=True)

OLD_HIT = {"host": {"name": "ws-1"}, "destination": {"ip": "45.9.148.77"}}
NEW_HIT = {"host": {"name": "ws-2"}, "dns": {"question": {"name": "cdn.evil.example"}}}


@pytest.fixture
def token(reference_data, settings):
    from socapp.models import Team

    settings.INTEL_MATCH_CHECK_SECONDS = 0  # each batch looks at the set's version
    ensure_rule_pack(BootstrapReport())
    return source_create(
        name="sensors", log_format="json", team=Team.objects.get(name="SOC"), actor=None
    )[1]


@pytest.fixture
def feed():
    return ThreatIntelFactory(source_name="abuse-feed", confidence_score=0.9)


class HeldBuilder:
    """``build_index`` that waits until the test releases it."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self.threads: list[threading.Thread] = []

    def __call__(self, version: str = "", **kwargs):
        self.calls += 1
        self.threads.append(threading.current_thread())
        self.started.set()
        assert self.release.wait(60)
        return build_index(version, **kwargs)


@pytest.fixture
def held(monkeypatch):
    builder = HeldBuilder()
    monkeypatch.setattr(indicator_set, "builder", builder)
    yield builder
    builder.release.set()  # never leave a build thread waiting
    indicator_set.wait(60)


def ndjson(*docs: dict) -> bytes:
    now = timezone.now().isoformat()
    return b"".join(json.dumps({"@timestamp": now, **d}).encode() + b"\n" for d in docs)


def matched(ioc, *, retro: bool) -> int:
    return IocMatch.objects.filter(ioc=ioc, retro_hunt=retro).count()


def test_ingest_matches_with_the_old_index_while_the_new_one_is_built(api, token, feed, held):
    old = IOCFactory(intel=feed, ioc_type="cidr", value="45.9.148.0/24", confidence_score=0.9)
    held.release.set()  # the process's first index: built by its first batch
    assert post(api, token, ndjson(OLD_HIT)).json()["accepted"] == 1
    assert (matched(old, retro=False), held.calls, indicator_set.building) == (1, 1, False)

    held.release.clear()
    new = IOCFactory(intel=feed, ioc_type="domain", value="evil.example", confidence_score=0.9)
    hunts = RetroHunt.objects.count()  # with its own (nothing stored carries it yet)
    for _ in range(3):  # the first of these starts the build; none of them waits for it
        assert post(api, token, ndjson(OLD_HIT, NEW_HIT)).json()["accepted"] == 2
    assert held.started.is_set() and indicator_set.building and held.calls == 2
    assert held.threads[1] is not threading.current_thread()
    assert matched(old, retro=False) == 4  # the old index kept matching
    assert matched(new, retro=False) == 0  # the new indicator is not in it yet

    held.release.set()
    assert indicator_set.wait(60)
    # The three events matched with the old index are searched for the new indicator.
    assert RetroHunt.objects.count() == hunts + 1
    catch_up = RetroHunt.objects.get(range_start__gt=timezone.now() - timedelta(hours=1))
    assert (catch_up.indicator_count, catch_up.events_scanned, catch_up.matches) == (1, 6, 3)
    assert matched(new, retro=True) == 3

    post(api, token, ndjson(OLD_HIT, NEW_HIT))  # the new index now
    assert (matched(old, retro=False), matched(new, retro=False)) == (5, 1)
    assert held.calls == 2 and Event.objects.count() == 9


def test_a_batch_that_commits_after_the_swap_gets_its_catch_up(token, feed, held):
    """A batch prepared with the old index may commit once the new one is in: it is
    searched at its commit."""
    held.release.set()
    IOCFactory(intel=feed, ioc_type="cidr", value="45.9.148.0/24")
    used = indicator_set.fresh()
    new = IOCFactory(intel=feed, ioc_type="domain", value="evil.example")
    assert indicator_set.fresh() is used  # the build started; the batch keeps this one
    assert indicator_set.wait(60) and indicator_set.index is not used
    hunts = RetroHunt.objects.count()
    now = timezone.now()
    indicator_set.batch_matched(used, now, now)
    assert RetroHunt.objects.count() == hunts + 1
    hunt = RetroHunt.objects.order_by("-created_at").first()
    assert list(hunt.indicators.all()) == [new]
    indicator_set.batch_matched(indicator_set.index, now, now)  # matched with the newest
    assert RetroHunt.objects.count() == hunts + 1


def test_a_process_without_an_index_matches_its_first_batch(api, token, feed, held):
    ioc = IOCFactory(intel=feed, ioc_type="cidr", value="45.9.148.0/24")
    held.release.set()
    assert not indicator_set.building and len(indicator_set.index) == 0
    post(api, token, ndjson(OLD_HIT))
    # built by the batch itself, in its own thread, before matching: not in the background
    assert matched(ioc, retro=False) == 1
    assert held.threads == [threading.current_thread()] and not indicator_set.building


def test_a_change_during_a_build_is_built_by_the_next_check(token, feed, held):
    held.release.set()
    IOCFactory(intel=feed, ioc_type="cidr", value="45.9.148.0/24")
    assert len(indicator_set.fresh()) == 1
    held.release.clear()
    IOCFactory(intel=feed, ioc_type="domain", value="evil.example")
    indicator_set.fresh()  # starts a build
    assert held.started.wait(60)
    IOCFactory(intel=feed, ioc_type="domain", value="bad.example")
    assert len(indicator_set.fresh()) == 1 and held.calls == 2  # one build at a time
    held.release.set()
    assert indicator_set.wait(60)
    assert len(indicator_set.fresh()) >= 2  # the second change: another build
    assert indicator_set.wait(60) and len(indicator_set.fresh()) == 3
    assert held.calls == 3
