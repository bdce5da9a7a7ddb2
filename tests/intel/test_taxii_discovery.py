"""A TAXII feed's URL may be the server's discovery URL or an API root: the poll finds
the collection (the one the feed names by id or title, or the only one there is),
through netguard, remembers it, and says plainly when it cannot tell which."""

from __future__ import annotations

import pytest

from intel.choices import FeedFormat
from intel.models import IOC
from intel.polling import poll
from tests.factories import ThreatIntelFactory

from .feedserver import FeedServer, taxii_collection, taxii_resource
from .stix_fixtures import indicator

pytestmark = pytest.mark.django_db
STAMP = "2026-01-01T00:00:00Z"
API_ROOT = {"title": "Intel", "versions": ["application/taxii+json;version=2.1"],
            "max_content_length": 10_000_000}  # fmt: skip


def a_server(server: FeedServer, collections: list[dict]) -> None:
    """/taxii2/ naming the API root /api1/ (and a second, empty root), its collections,
    each serving one indicator named after it."""
    taxii_resource(server, "/taxii2/", {
        "title": "Test TAXII", "default": server.base + "/api1/", "api_roots": ["/api2/"],
    })  # fmt: skip
    taxii_resource(server, "/api1/", API_ROOT)
    taxii_resource(server, "/api1/collections/", {"collections": collections})
    taxii_resource(server, "/api2/collections/", {})
    for c in collections:
        pattern = f"[domain-name:value = '{c['id']}.example.net']"
        taxii_collection(server, [[indicator(pattern)]], [STAMP], f"/api1/collections/{c['id']}/")


def collection(cid: str, title: str, can_read: bool = True) -> dict:
    return {"id": cid, "title": title, "can_read": can_read, "can_write": False}


def values(feed) -> set[str]:
    return set(IOC.objects.filter(intel=feed).values_list("value", flat=True))


def test_the_only_readable_collection_of_a_discovery_url_is_polled(feed_server):
    a_server(feed_server, [collection("c1", "Indicators"), collection("w", "Inbox", False)])
    feed = ThreatIntelFactory(url=feed_server.base + "/taxii2/", feed_format=FeedFormat.TAXII,
                              credentials={"username": "r", "password": "p"})  # fmt: skip
    assert poll(feed).created == 1
    feed.refresh_from_db()
    assert feed.last_fetch_error == "" and values(feed) == {"c1.example.net"}
    assert feed.poll_state["collection"]["url"] == feed_server.base + "/api1/collections/c1/"
    # Every step was asked with the TAXII media type and the feed's credentials (one host).
    steps = [
        "/taxii2/",
        "/api1/collections/",
        "/api2/collections/",
        "/api1/collections/c1/objects/",
    ]
    for path in steps:
        (hit,) = feed_server.hits(path)
        assert "version=2.1" in hit["headers"]["Accept"] and "Authorization" in hit["headers"]
    # The next poll goes straight to the collection it found.
    poll(feed)
    assert len(feed_server.hits("/taxii2/")) == 1
    assert len(feed_server.hits("/api1/collections/c1/objects/")) == 2


@pytest.mark.parametrize("named", ["c2", "second ONE"])
def test_an_api_root_with_several_collections_uses_the_one_the_feed_names(feed_server, named):
    a_server(feed_server, [collection("c1", "First one"), collection("c2", "Second one")])
    feed = ThreatIntelFactory(url=feed_server.base + "/api1", feed_format=FeedFormat.TAXII,
                              metadata={"collection": named})  # fmt: skip
    assert poll(feed).created == 1
    assert values(feed) == {"c2.example.net"}
    assert not feed_server.hits("/taxii2/")  # an API root is not a discovery URL


def test_several_collections_and_no_choice_is_an_error_naming_them(feed_server):
    a_server(feed_server, [collection("c1", "First one"), collection("c2", "<b>Second</b>")])
    feed = ThreatIntelFactory(url=feed_server.base + "/taxii2/", feed_format=FeedFormat.TAXII)
    assert poll(feed).created == 0
    feed.refresh_from_db()
    assert "2 collections; name one" in feed.last_fetch_error
    assert (
        "First one (c1)" in feed.last_fetch_error and "<b>Second</b> (c2)" in feed.last_fetch_error
    )
    assert not feed_server.hits("/api1/collections/c1/objects/")
    feed.metadata = {"collection": "nothing-like-it"}
    feed.save()
    poll(feed)
    feed.refresh_from_db()
    assert "'nothing-like-it' names no readable collection" in feed.last_fetch_error


def test_a_url_that_is_not_taxii_is_an_error_on_the_feed(feed_server):
    feed_server.routes["/page/"] = (200, {}, b'{"hello": "world"}')
    feed = ThreatIntelFactory(url=feed_server.base + "/page/", feed_format=FeedFormat.TAXII)
    poll(feed)
    feed.refresh_from_db()
    assert "not a TAXII 2.1 discovery URL, API root or collection" in feed.last_fetch_error


def test_discovery_naming_a_private_api_root_is_refused_before_connecting(feed_server):
    """The feed's host is allowed (as an admin would); the root discovery points to,
    169.254.169.254, is not: the guard refuses it and the error says so."""
    taxii_resource(feed_server, "/taxii2/", {"default": "http://169.254.169.254/api1/"})
    feed = ThreatIntelFactory(url=feed_server.base + "/taxii2/", feed_format=FeedFormat.TAXII)
    poll(feed)
    feed.refresh_from_db()
    assert feed.last_fetch_error.startswith("http://169.254.169.254/api1/collections/: refused")
    assert "link-local" in feed.last_fetch_error
