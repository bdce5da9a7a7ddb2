"""Feeds polled from real local servers: a TAXII 2.1 collection incrementally, a MISP
feed fetching only changed events, a URL list; credentials go only to the feed's own
host; hostile URLs and redirects are refused and shown as the feed's error."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from intel.choices import FeedFormat
from intel.models import IOC
from intel.polling import due_feeds, poll
from intel.tasks import poll_due_feeds, poll_feed
from tests.factories import ThreatIntelFactory

from .feedserver import COLLECTION, serve, taxii_collection
from .stix_fixtures import indicator

pytestmark = pytest.mark.django_db


def test_a_taxii_collection_is_polled_incrementally(feed_server):
    pages = [
        [indicator("[domain-name:value = 'one.example.net']")],
        [indicator("[domain-name:value = 'two.example.net']")],
    ]
    taxii_collection(feed_server, pages, ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"])
    feed = ThreatIntelFactory(
        url=feed_server.base + COLLECTION,
        feed_format=FeedFormat.TAXII,
        credentials={"username": "reader", "password": "s3cret"},
    )
    result = poll(feed)
    assert result.created == 2
    feed.refresh_from_db()
    assert feed.poll_state["added_after"] == "2026-01-02T00:00:00Z"
    assert feed.last_fetch_error == "" and feed.last_fetch_counts["created"] == 2
    first = feed_server.hits(COLLECTION + "objects/")
    assert [r["query"].get("next") for r in first] == [None, ["1"]]
    assert all(r["headers"]["Authorization"].startswith("Basic ") for r in first)
    assert "version=2.1" in first[0]["headers"]["Accept"]
    # The next poll asks only for what was added after the last one.
    assert poll(feed).created == 0
    assert feed_server.hits(COLLECTION + "objects/")[-1]["query"]["added_after"] == [
        "2026-01-02T00:00:00Z"
    ]
    assert IOC.objects.filter(intel=feed).count() == 2


def misp_event(uuid: str, value: str) -> bytes:
    attribute = {"uuid": uuid[:-1] + "a", "type": "domain", "value": value, "to_ids": True}
    return json.dumps({"Event": {"uuid": uuid, "info": "test", "Attribute": [attribute]}}).encode()


def test_a_misp_feed_fetches_only_changed_events(feed_server):
    one, two = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    manifest = {one: {"timestamp": "100"}, two: {"timestamp": "100"}}
    feed_server.routes["/misp/manifest.json"] = (200, {}, json.dumps(manifest).encode())
    feed_server.routes[f"/misp/{one}.json"] = (200, {}, misp_event(one, "m1.example.net"))
    feed_server.routes[f"/misp/{two}.json"] = (200, {}, misp_event(two, "m2.example.net"))
    feed = ThreatIntelFactory(url=feed_server.base + "/misp/", feed_format=FeedFormat.MISP_FEED,
                              credentials={"api_key": "misp-key"})  # fmt: skip
    assert poll(feed).created == 2
    manifest[two]["timestamp"] = "200"
    feed_server.routes["/misp/manifest.json"] = (200, {}, json.dumps(manifest).encode())
    feed_server.routes[f"/misp/{two}.json"] = (200, {}, misp_event(two, "m3.example.net"))
    # The attribute (same uuid) now has another value: its row is updated, not doubled.
    assert poll(feed).updated == 1
    assert set(IOC.objects.values_list("value", flat=True)) == {"m1.example.net", "m3.example.net"}
    assert len(feed_server.hits(f"/misp/{one}.json")) == 1  # unchanged: not fetched again
    assert len(feed_server.hits(f"/misp/{two}.json")) == 2
    assert feed_server.hits("/misp/manifest.json")[0]["headers"]["Authorization"] == "misp-key"


def test_credentials_never_follow_a_redirect_to_another_host(feed_server, other_server):
    other_server.routes["/list.txt"] = (200, {}, b"moved.example.net\n")
    feed_server.routes["/list.txt"] = (302, {"Location": other_server.base + "/list.txt"}, b"")
    feed = ThreatIntelFactory(
        url=feed_server.base + "/list.txt",
        feed_format=FeedFormat.LIST,
        credentials={"headers": {"X-Api-Key": "k"}, "username": "u", "password": "p"},
    )
    assert poll(feed).created == 1
    sent_to_feed = feed_server.hits("/list.txt")[0]["headers"]
    assert sent_to_feed["X-Api-Key"] == "k" and "Authorization" in sent_to_feed
    sent_elsewhere = other_server.hits("/list.txt")[0]["headers"]
    assert "X-Api-Key" not in sent_elsewhere and "Authorization" not in sent_elsewhere


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://2130706433:{port}/x", "loopback"),
        ("http://0177.0.0.1:{port}/x", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/x", "loopback"),
        ("http://localhost:{port}/x", "loopback"),
        ("file:///etc/passwd", "only http and https"),
    ],
)
def test_hostile_feed_urls_are_refused_before_connecting(settings, url, why):

    settings.OUTBOUND_ALLOWED_NETWORKS = []
    record, httpd = serve("127.0.0.1")
    try:
        feed = ThreatIntelFactory(url=url.format(port=record.port), feed_format=FeedFormat.LIST)
        poll(feed)
        feed.refresh_from_db()
        assert why in feed.last_fetch_error and feed.last_fetch_counts == {}
        assert record.requests == []
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_redirect_to_the_metadata_address_is_refused(feed_server):
    feed_server.routes["/r"] = (302, {"Location": "http://169.254.169.254/latest/"}, b"")
    feed = ThreatIntelFactory(url=feed_server.base + "/r", feed_format=FeedFormat.LIST)
    poll(feed)
    feed.refresh_from_db()
    assert "169.254.169.254, a link-local address" in feed.last_fetch_error


def test_an_oversized_answer_is_cut_and_refused(feed_server, settings):
    settings.INTEL_IMPORT_MAX_BYTES = 1000
    feed_server.routes["/big.txt"] = (200, {}, b"a.example.net\n" * 1000)
    feed = ThreatIntelFactory(url=feed_server.base + "/big.txt", feed_format=FeedFormat.LIST)
    poll(feed)
    feed.refresh_from_db()
    assert "larger than 1,000 bytes" in feed.last_fetch_error
    assert not IOC.objects.exists()


def test_a_failed_poll_keeps_the_state_and_says_why(feed_server):
    feed_server.routes[COLLECTION + "objects/"] = (500, {}, b"")
    feed = ThreatIntelFactory(url=feed_server.base + COLLECTION, feed_format=FeedFormat.TAXII,
                              poll_state={"added_after": "2026-01-01T00:00:00Z"})  # fmt: skip
    poll(feed)
    feed.refresh_from_db()
    assert feed.last_fetch_error.endswith("HTTP 500")
    assert feed.poll_state == {"added_after": "2026-01-01T00:00:00Z"}


def test_beat_finds_due_feeds_once(feed_server, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    feed_server.routes["/l.txt"] = (200, {}, b"due.example.net\n")
    due = ThreatIntelFactory(url=feed_server.base + "/l.txt", feed_format=FeedFormat.LIST,
                             poll_interval=timedelta(minutes=5))  # fmt: skip
    ThreatIntelFactory(url=feed_server.base + "/l.txt", feed_format=FeedFormat.LIST,
                       poll_interval=timedelta(hours=1), last_fetch_at=timezone.now())  # fmt: skip
    ThreatIntelFactory(url=feed_server.base + "/l.txt", feed_format=FeedFormat.LIST)  # never
    assert [feed.pk for feed in due_feeds()] == [due.pk]
    from socapp.celery import app

    eager = app.conf.task_always_eager  # put back as found: later tests rely on it
    app.conf.task_always_eager = True
    try:
        assert poll_due_feeds() == 1
    finally:
        app.conf.task_always_eager = eager
    assert IOC.objects.get().value == "due.example.net"
    assert due_feeds() == []


@pytest.mark.django_db(transaction=True)  # the second poll runs on another connection
def test_a_second_poll_of_a_feed_being_polled_is_skipped(feed_server):
    """Beat's poll and "Fetch now" overlap: while the first poll is fetching the feed, a
    second one (on the feed server's thread, so truly at the same time) is skipped."""
    second: list[dict[str, int]] = []

    def answer(query: dict) -> tuple[int, dict, bytes]:
        if not second:  # the first poll is fetching: its claim is committed
            second.append(poll_feed(str(feed.pk)))
            connections.close_all()  # this thread's connection
        return 200, {}, b"once.example.net\n"

    feed_server.routes["/l.txt"] = answer
    feed = ThreatIntelFactory(url=feed_server.base + "/l.txt", feed_format=FeedFormat.LIST)
    assert poll_feed(str(feed.pk))["created"] == 1
    assert second == [{"already_running": 1}]
    assert len(feed_server.hits("/l.txt")) == 1  # the skipped poll fetched nothing
    feed.refresh_from_db()
    assert feed.last_fetch_error == "" and feed.polling_until is None  # claim given back
    assert poll_feed(str(feed.pk))["unchanged"] == 1  # the next poll runs
    assert len(feed_server.hits("/l.txt")) == 2
