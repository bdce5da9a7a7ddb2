"""The periodic work runs for real: a Celery worker and beat (database scheduler) as
separate processes, on a Redis broker, against this test's PostgreSQL database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.core.cache import cache
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from events.models import HourlyEventSummary
from events.partitions import EVENTS, interval_after, interval_start, list_partitions
from scripts.processes import ProcessGroup, start_beat, start_worker, wait_until
from tests.conftest import app_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def months_ahead(n: int) -> datetime:
    start = interval_start(datetime.now(tz=UTC), "month")
    for _ in range(n):
        start = interval_after(start, "month")
    return start


@pytest.fixture
def worker_env():
    import redis

    redis.Redis.from_url(settings.TEST_WORKER_BROKER_URL).flushdb()
    return app_env(CELERY_BROKER_URL=settings.TEST_WORKER_BROKER_URL, EVENTS_PARTITION_PREMAKE="9")


def start_processes(
    process_group: ProcessGroup, env: dict[str, str], tmp_path: Path, *, beat: bool = False
) -> None:
    """A worker for the default and maintenance queues and, with ``beat``, celery beat
    (its schedule file in tmp_path); they log to worker.log and beat.log there."""
    worker = start_worker("default,maintenance", env=env, output=tmp_path / "worker.log")
    process_group.add(worker)
    if beat:
        schedule = tmp_path / "beat-schedule"
        process_group.add(start_beat(env=env, output=tmp_path / "beat.log", schedule=schedule))


def test_a_real_worker_makes_the_coming_partitions(process_group, worker_env, tmp_path):
    target = months_ahead(9)
    assert not any(p.covers(target) for p in list_partitions(EVENTS))
    start_processes(process_group, worker_env, tmp_path)
    # Not the current app: shared tasks of later (eager) tests must keep using socapp's.
    client = Celery("test-client", broker=settings.TEST_WORKER_BROKER_URL, set_as_current=False)
    client.send_task("events.tasks.maintain_event_partitions", queue="maintenance")
    wait_until(
        lambda: any(p.covers(target) for p in list_partitions(EVENTS)),
        timeout=60,
        what=f"a partition for {target:%Y-%m} ({(tmp_path / 'worker.log').read_text()})",
    )


def test_beat_schedules_the_summary_refresh_from_the_database(process_group, worker_env, tmp_path):
    cache.delete(HourlyEventSummary.REFRESHED_CACHE_KEY)
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.create(
        name="socapp: refresh hourly event summary",
        task="events.tasks.refresh_hourly_event_summary",
        interval=every_second,
        queue="maintenance",
    )
    start_processes(process_group, worker_env, tmp_path, beat=True)
    wait_until(
        lambda: cache.get(HourlyEventSummary.REFRESHED_CACHE_KEY),
        timeout=60,
        what=f"beat -> worker -> refresh (logs: {(tmp_path / 'beat.log').read_text()[-2000:]})",
    )


def test_beat_anchors_the_audit_log_and_the_worker_logs_the_anchor(
    process_group, worker_env, tmp_path, settings, reference_data
):
    import json

    from socapp.audit import audit_record
    from socapp.models import AuditAnchor
    from socapp.roof.bootstrap import BootstrapReport, ensure_periodic_tasks

    head = audit_record(actor=None, action="test.before_anchor")
    settings.AUDIT_ANCHOR_INTERVAL_SECONDS = 1
    ensure_periodic_tasks(BootstrapReport())
    PeriodicTask.objects.exclude(task="socapp.tasks.audit_checkpoint").update(enabled=False)
    start_processes(process_group, worker_env, tmp_path, beat=True)
    anchor = wait_until(
        lambda: AuditAnchor.objects.order_by("at", "id").first(),  # the first of them
        timeout=60,
        what=f"an anchor (logs: {(tmp_path / 'beat.log').read_text()[-2000:]})",
    )
    assert (anchor.head_seq, anchor.head_mac) == (head.seq, head.mac)
    logged = wait_until(
        lambda: [
            json.loads(line[line.index("{") :])
            for line in (tmp_path / "worker.log").read_text().splitlines()
            if "socapp.audit_anchor" in line
        ],
        timeout=30,
        what="the anchor's line in the worker's log",
    )
    assert logged[0]["head_mac"] == head.mac and logged[0]["signature"] == anchor.signature
