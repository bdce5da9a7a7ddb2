"""Polling in a real Celery worker (its own process, the Redis broker, this test's
database): the beat entry ``manage.py bootstrap`` schedules is sent as beat sends it,
the worker finds the due feed, resolves its TAXII discovery URL to the collection on a
loopback server and imports it; the next poll asks only for what was added since; a
server error is recorded on the feed and shown on its page."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from intel.choices import FeedFormat
from intel.models import IOC, ThreatIntel
from scripts.processes import ProcessGroup, start_worker, wait_until
from socapp.roof.bootstrap import BootstrapReport, ensure_periodic_tasks
from tests.conftest import app_env
from tests.factories import ThreatIntelFactory
from tests.receivers import RECEIVER_ENV

from .feedserver import TAXII_JSON, Answer, FeedServer, taxii_resource
from .stix_fixtures import indicator

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
OBJECTS = "/api1/collections/c1/objects/"


class Collection:
    """A TAXII collection on the feed server whose objects carry the time they were
    added; ``objects/?added_after=`` answers only the later ones (one page)."""

    def __init__(self, server: FeedServer) -> None:
        self.added: list[tuple[str, dict]] = []
        self.failing = False
        taxii_resource(server, "/taxii2/", {"title": "Loopback TAXII", "default": "/api1/"})
        collection = {"id": "c1", "title": "Indicators", "can_read": True, "can_write": False}
        taxii_resource(server, "/api1/collections/", {"collections": [collection]})
        server.routes[OBJECTS] = self.objects

    def add(self, stamp: str, domain: str) -> None:
        self.added.append((stamp, indicator(f"[domain-name:value = '{domain}']")))

    def objects(self, query: dict[str, list[str]]) -> Answer:
        if self.failing:
            return 500, {}, b"internal error"
        after = query.get("added_after", [""])[0]
        new = [(stamp, o) for stamp, o in self.added if stamp > after]
        headers = dict(TAXII_JSON)
        if new:
            headers["X-TAXII-Date-Added-Last"] = new[-1][0]
        envelope = {"more": False, "objects": [o for _, o in new]}
        return 200, headers, json.dumps(envelope).encode()


@pytest.fixture
def worker(process_group: ProcessGroup, tmp_path: Path) -> Path:
    """A worker on the maintenance queue (where the intel tasks go), allowed to reach
    the loopback feed server as an admin would allow a range."""
    import redis

    redis.Redis.from_url(settings.TEST_WORKER_BROKER_URL).flushdb()
    env = app_env(CELERY_BROKER_URL=settings.TEST_WORKER_BROKER_URL, **RECEIVER_ENV)
    log = tmp_path / "worker.log"
    process_group.add(start_worker("maintenance", env=env, output=log, pool="solo"))
    return log


def run_beat_entry() -> None:
    """Send the scheduled poll the way beat does: the entry's task, arguments, queue."""
    entry = PeriodicTask.objects.get(task="intel.tasks.poll_due_feeds")
    client = Celery("beat-stand-in", broker=settings.TEST_WORKER_BROKER_URL, set_as_current=False)
    client.send_task(
        entry.task, args=json.loads(entry.args), kwargs=json.loads(entry.kwargs), queue=entry.queue
    )
    client.close()


def fetched_after(feed: ThreatIntel, moment) -> ThreatIntel | None:
    """The feed once a fetch that started after ``moment`` has recorded its outcome."""
    feed.refresh_from_db()
    done = feed.last_fetch_at and feed.last_fetch_at > moment
    return feed if done and (feed.last_fetch_counts or feed.last_fetch_error) else None


def make_due(feed: ThreatIntel) -> datetime:
    """As if the poll interval had passed since the last fetch."""
    ThreatIntel.objects.filter(pk=feed.pk).update(
        last_fetch_at=timezone.now() - timedelta(minutes=5), last_fetch_counts={}
    )
    return timezone.now() - timedelta(minutes=5)


def test_the_worker_polls_a_due_taxii_feed_incrementally_and_records_errors(
    worker, feed_server, analyst_a
):
    ensure_periodic_tasks(BootstrapReport())
    collection = Collection(feed_server)
    collection.add("2026-01-01T00:00:00.000Z", "first.example.net")
    collection.add("2026-01-01T00:00:01.000Z", "second.example.net")
    feed = ThreatIntelFactory(
        source_name="loopback taxii", url=feed_server.base + "/taxii2/",
        feed_format=FeedFormat.TAXII, poll_interval=timedelta(minutes=1),
    )  # fmt: skip
    started = timezone.now() - timedelta(seconds=1)

    run_beat_entry()
    feed = wait_until(lambda: fetched_after(feed, started), timeout=60, what="the first poll")
    assert feed.last_fetch_error == "" and feed.last_fetch_counts["created"] == 2
    assert set(IOC.objects.filter(intel=feed).values_list("value", flat=True)) == {
        "first.example.net", "second.example.net",
    }  # fmt: skip
    assert feed.poll_state["added_after"] == "2026-01-01T00:00:01.000Z"
    assert "added_after" not in feed_server.hits(OBJECTS)[0]["query"]

    collection.add("2026-01-02T00:00:00.000Z", "third.example.net")
    since = make_due(feed)
    run_beat_entry()
    feed = wait_until(lambda: fetched_after(feed, since), timeout=60, what="the second poll")
    assert feed.last_fetch_counts == {"created": 1, "updated": 0, "unchanged": 0, "skipped": 0}
    asked = [hit["query"].get("added_after") for hit in feed_server.hits(OBJECTS)]
    assert asked == [None, ["2026-01-01T00:00:01.000Z"]]
    assert len(feed_server.hits("/taxii2/")) == 1  # the collection found is remembered

    collection.failing = True
    since = make_due(feed)
    run_beat_entry()
    feed = wait_until(lambda: fetched_after(feed, since), timeout=60, what="the failing poll")
    assert feed.last_fetch_error.endswith(
        OBJECTS + "?limit=1000&added_after=2026-01-02T00%3A00%3A00.000Z: HTTP 500"
    )
    assert IOC.objects.filter(intel=feed).count() == 3  # nothing lost
    client = Client()
    client.force_login(analyst_a)
    shown = client.get(f"/intel/feeds/{feed.pk}/").content.decode()
    assert "HTTP 500" in shown.split('id="fetch-error"', 1)[1].split("</p>", 1)[0]
    assert "HTTP 500" in client.get("/intel/feeds/").content.decode()
