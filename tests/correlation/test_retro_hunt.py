"""Retro-hunts: an indicator that arrives after the events that carry it finds them among
stored events, in the background, with a progress record; its alerts are marked
"retro-hunt" and carry the events' own times; a replayed hunt duplicates nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from correlation.services.retrohunt import retro_hunt_run
from events.ingest import events_ingest
from events.parsers import RawRecord
from incidents.models import Alert
from intel.choices import IocStatus
from intel.models import IOC, IocMatch, RetroHunt
from intel.retrohunts import retro_hunt_request
from scripts.processes import start_worker, wait_until
from socapp.roof.bootstrap import BootstrapReport, ensure_rule_pack
from tests.conftest import app_env
from tests.factories import IOCFactory, SourceFactory, ThreatIntelFactory

pytestmark = pytest.mark.django_db(transaction=True)


def store(hours_ago: list[float], ip: str = "5.188.206.66") -> list:
    """Events carrying ``ip``, stored before any indicator names it."""
    now = timezone.now()
    lines = [
        f'{{"@timestamp": "{(now - timedelta(hours=h)).isoformat()}", '
        f'"host": {{"name": "ws-{n}"}}, "destination": {{"ip": "{ip}"}}}}'
        for n, h in enumerate(hours_ago)
    ]
    source = SourceFactory.create(format="json")
    events_ingest(
        source=source, records=[RawRecord(n, x) for n, x in enumerate(lines, 1)], transport="api"
    )
    return [now - timedelta(hours=h) for h in hours_ago]


@pytest.fixture
def pack(reference_data):
    ensure_rule_pack(BootstrapReport())


def test_a_new_indicator_finds_stored_events_and_raises_retro_hunt_alerts(pack, settings):
    settings.RETRO_HUNT_SLICE_HOURS = 24
    settings.RETRO_HUNT_CHUNK = 3  # several chunks per slice
    times = store([2, 30, 24 * 20, 24 * 40])  # the last is older than RETRO_HUNT_DAYS (30)
    store([5], ip="192.0.2.5")
    assert not Alert.objects.exists()
    # created by an analyst: the save asks for a hunt, run here by the eager worker
    ioc = IOCFactory(intel=ThreatIntelFactory(), value="5.188.206.0/24", ioc_type="cidr",
                     confidence_score=0.9)  # fmt: skip
    hunt = RetroHunt.objects.get()
    assert (hunt.status, hunt.progress, hunt.indicator_count) == ("done", 1.0, 1)
    assert hunt.events_scanned == 4  # the 40-day-old event is outside the range
    assert hunt.matches == 3 and hunt.alerts == 3
    assert hunt.range_end - hunt.range_start == timedelta(days=30)
    matches = IocMatch.objects.filter(ioc=ioc)
    assert matches.count() == 3 and all(m.retro_hunt for m in matches)
    alerts = Alert.objects.order_by("triggered_at")
    assert [a.triggered_at for a in alerts] == sorted(times[:3])  # the events' own times
    assert all(a.details["retro_hunt"] and "(retro-hunt)" in a.title for a in alerts)
    assert {a.severity.name for a in alerts} == {"high"}
    # a replay of the same hunt (a redelivered message after a crash) adds nothing
    RetroHunt.objects.filter(pk=hunt.pk).update(
        status="running", finished_at=None, searched_until=None
    )
    retro_hunt_run(hunt_id=hunt.pk)
    assert IocMatch.objects.count() == 3 and Alert.objects.count() == 3


def test_reactivating_an_indicator_hunts_again_and_revoked_ones_are_not_hunted(pack):
    store([3])
    ioc = IOCFactory(value="5.188.206.66", status=IocStatus.REVOKED)
    assert not RetroHunt.objects.exists()  # a revoked indicator is not hunted for
    ioc.status = IocStatus.ACTIVE
    ioc.save()
    assert RetroHunt.objects.get().matches == 1
    ioc.description = "edited"
    ioc.save()  # an edit is no arrival
    assert RetroHunt.objects.count() == 1


def test_one_hunt_per_transaction_however_many_indicators_arrive(pack):
    from django.db import transaction

    with transaction.atomic():
        feed = ThreatIntelFactory()
        for n in range(5):
            IOCFactory(intel=feed, value=f"45.9.148.{n + 1}")
    hunt = RetroHunt.objects.get()
    assert hunt.indicator_count == 5 and hunt.indicators.count() == 5


@pytest.mark.slow
def test_a_hunt_runs_in_a_real_worker(pack, process_group, tmp_path):
    import redis

    times = store([1, 50])
    redis.Redis.from_url(settings.TEST_WORKER_BROKER_URL).flushdb()
    # written without signals, as a bulk import does; the hunt is sent to the worker
    feed = ThreatIntelFactory()
    [ioc] = IOC.objects.bulk_create(
        [IOC(intel=feed, ioc_type="ipv4", value="5.188.206.66", confidence_score=0.6)]
    )
    hunt = RetroHunt.objects.create(
        range_start=timezone.now() - timedelta(days=30), range_end=timezone.now(),
        indicator_count=1,
    )  # fmt: skip
    hunt.indicators.add(ioc)
    env = app_env(CELERY_BROKER_URL=settings.TEST_WORKER_BROKER_URL)
    log = tmp_path / "worker.log"
    process_group.add(start_worker("maintenance", env=env, output=log, pool="solo"))
    client = Celery("test-client", broker=settings.TEST_WORKER_BROKER_URL, set_as_current=False)
    client.send_task("correlation.tasks.retro_hunt", args=[str(hunt.pk)], queue="maintenance")
    client.close()
    wait_until(
        lambda: RetroHunt.objects.get(pk=hunt.pk).status == "done",
        timeout=120,
        what=f"the hunt to finish ({log.read_text()[-2000:] if log.exists() else ''})",
    )
    hunt.refresh_from_db()
    assert (hunt.matches, hunt.alerts) == (2, 2)
    alerts = Alert.objects.order_by("triggered_at")
    assert [a.triggered_at for a in alerts] == sorted(times)
    assert all(a.details["retro_hunt"] for a in alerts)
    assert {a.severity.name for a in alerts} == {"medium"}


def test_retro_hunt_request_without_indicators_makes_nothing(reference_data):
    assert retro_hunt_request(ioc_ids=[]) is None
