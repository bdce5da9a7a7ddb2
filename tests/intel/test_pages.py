"""The threat-intel console pages, for the personas: indicators found and shown with
their sightings and the events they matched, feeds with their last fetch (its error
escaped), "fetch now", the feed form (URL checked, credentials write-only) and the
import form (the API's service, its counts and skip reasons)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from django.test import Client
from django.utils import timezone

from events.services import events_store
from intel.choices import FeedFormat
from intel.models import IOC, IocMatch, IocSighting, ThreatIntel
from socapp.models import AuditEntry
from tests.factories import IOCFactory, SourceFactory, ThreatIntelFactory, event_record

pytestmark = pytest.mark.django_db
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _now() -> datetime:
    """Read when the test runs, not when the module is collected: a long run would leave
    a module-level time behind the pages' windows."""
    return datetime.now(tz=UTC)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(user, url: str) -> str:
    response = browser(user).get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def test_indicators_are_found_by_value_type_status_and_feed(analyst_a):
    one, two = ThreatIntelFactory(source_name="abuse"), ThreatIntelFactory(source_name="osint")
    IOCFactory(intel=one, ioc_type="domain", value="evil.example.net")
    IOCFactory(intel=two, ioc_type="domain", value="bad.example.org", status="revoked")
    IOCFactory(intel=two, value="203.0.113.9")
    assert 'href="/intel/"' in page(analyst_a, "/")  # the nav's "Intel"
    found = page(analyst_a, "/intel/?q=EXAMPLE")
    assert "evil.example.net" in found and "bad.example.org" in found and "203.0.113.9" not in found
    assert "bad.example.org" not in page(analyst_a, "/intel/?q=example&status=active")
    assert "203.0.113.9" in page(analyst_a, "/intel/?type=ipv4")
    by_feed = page(analyst_a, f"/intel/?feed={two.pk}")
    assert "bad.example.org" in by_feed and "evil.example.net" not in by_feed
    assert "No indicators match." in page(analyst_a, "/intel/?type=nonsense&q=nothing-here")


def test_an_indicator_shows_its_context_escaped_sightings_and_matched_events(analyst_a, team_a):
    feed = ThreatIntelFactory(tlp="red")
    ioc = IOCFactory(
        intel=feed, value="198.51.100.77", description=SCRIPT,
        context={"malware": [SCRIPT]}, attack_techniques=["T1071"],
    )  # fmt: skip
    at = _now() - timedelta(minutes=5)
    (event_id,) = events_store(
        source=SourceFactory(team=team_a),
        records=[event_record(at, source_ip="198.51.100.77", event_type="ioc_probe")],
    )
    IocMatch.objects.create(ioc=ioc, event_id=event_id, event_time=at, field="source.ip")
    IocSighting.objects.create(ioc=ioc, kind="seen", note=SCRIPT, reference="alert 1")
    shown = page(analyst_a, f"/intel/iocs/{ioc.pk}/")
    assert SCRIPT not in shown and shown.count(ESCAPED) >= 2
    assert "TLP:RED" in shown and "(the feed's)" in shown and "T1071" in shown
    assert "alert 1" in shown and "at ingest" in shown
    link = shown.split('href="/events/search/?', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert 'source.ip:"198.51.100.77"' in unquote(link.replace("+", " "))
    # The link finds the matched event.
    assert "ioc_probe" in page(analyst_a, "/events/search/?" + link)


def test_the_feeds_page_shows_the_last_fetch_its_error_escaped_and_counts(auditor):
    now = _now()
    broken = ThreatIntelFactory(
        source_name="broken", provider="ACME", feed_format=FeedFormat.TAXII,
        url="https://taxii.example.org/taxii2/", last_fetch_at=now,
        last_fetch_error=f"https://taxii.example.org/: {SCRIPT}", poll_interval=timedelta(hours=1),
    )  # fmt: skip
    fine = ThreatIntelFactory(source_name="fine", last_fetch_at=now,
                              last_fetch_counts={"created": 7, "skipped": 2})  # fmt: skip
    IOCFactory.create_batch(3, intel=fine)
    listed = page(auditor, "/intel/feeds/")
    assert SCRIPT not in listed and ESCAPED in listed
    assert "7 new, 0 updated, 0 unchanged," in listed and "ACME" in listed
    assert ">3</td>" in listed and "1:00:00" in listed
    detail = page(auditor, f"/intel/feeds/{broken.pk}/")
    assert 'id="fetch-error">https://taxii.example.org/: ' + ESCAPED in detail
    assert "fetch-now" not in detail  # an auditor may not fetch
    assert "Edit" not in detail.split("</h1>", 1)[1].split("</div>", 1)[0]


def test_a_feeds_page_lists_its_own_indicators_filtered(analyst_a):
    feed, other = ThreatIntelFactory(), ThreatIntelFactory()
    IOCFactory(intel=feed, ioc_type="domain", value="mine.example.net")
    IOCFactory(intel=feed, value="192.0.2.44")
    IOCFactory(intel=other, ioc_type="domain", value="theirs.example.net")
    shown = page(analyst_a, f"/intel/feeds/{feed.pk}/?type=domain")
    assert "mine.example.net" in shown and "192.0.2.44" not in shown
    assert "theirs.example.net" not in shown


def test_fetch_now_polls_the_feed_for_who_may_import(
    manager, analyst_a, feed_server, django_capture_on_commit_callbacks
):
    feed_server.routes["/list.txt"] = (200, {}, b"fetched.example.net\n")
    feed = ThreatIntelFactory(url=feed_server.base + "/list.txt", feed_format=FeedFormat.LIST)
    assert 'id="fetch-now"' not in page(analyst_a, f"/intel/feeds/{feed.pk}/")
    assert browser(analyst_a).post(f"/intel/feeds/{feed.pk}/fetch/").status_code == 403
    assert 'id="fetch-now"' in page(manager, f"/intel/feeds/{feed.pk}/")
    with django_capture_on_commit_callbacks(execute=True):  # the task runs eagerly here
        response = browser(manager).post(f"/intel/feeds/{feed.pk}/fetch/", follow=True)
    assert "is queued" in response.content.decode()
    assert IOC.objects.filter(intel=feed, value="fetched.example.net").exists()
    feed.refresh_from_db()
    assert feed.last_fetch_counts["created"] == 1
    assert AuditEntry.objects.filter(action="threatintel.fetch", actor=manager).count() == 1
    manual = ThreatIntelFactory()  # no URL: nothing to fetch
    refused = browser(manager).post(f"/intel/feeds/{manual.pk}/fetch/", follow=True)
    assert "Only an active feed with a URL can be fetched." in refused.content.decode()
    feed.polling_until = timezone.now() + timedelta(minutes=5)  # a poll holds the feed
    feed.save(update_fields=["polling_until"])
    busy = browser(manager).post(f"/intel/feeds/{feed.pk}/fetch/", follow=True)
    assert "A fetch of this feed is running" in busy.content.decode()
    assert AuditEntry.objects.filter(action="threatintel.fetch", actor=manager).count() == 1


def feed_form(**overrides) -> dict:
    return {
        "source_name": "partner taxii", "intel_type": "stix_taxii", "feed_format": "taxii",
        "url": "http://169.254.169.254/taxii2/", "tlp": "amber", "confidence_score": "0.7",
        "poll_minutes": "30", "is_active": "on", "collection": "Indicators",
        "username": "reader", "password": "s3cret-pw", **overrides,
    }  # fmt: skip


def test_admins_keep_feeds_with_a_checked_url_and_write_only_credentials(
    soc_admin, manager, feed_server
):
    assert browser(manager).get("/intel/feeds/new/").status_code == 403
    admin = browser(soc_admin)
    refused = admin.post("/intel/feeds/new/", feed_form())
    assert "socapp will not fetch this URL" in refused.content.decode()
    assert not ThreatIntel.objects.filter(source_name="partner taxii").exists()

    url = feed_server.base + "/taxii2/"  # loopback, allowed for this test as an admin would
    saved = admin.post("/intel/feeds/new/", feed_form(url=url), follow=True)
    feed = ThreatIntel.objects.get(source_name="partner taxii")
    assert feed.credentials == {"username": "reader", "password": "s3cret-pw"}
    assert (
        feed.poll_interval == timedelta(minutes=30) and feed.metadata["collection"] == "Indicators"
    )
    assert "s3cret-pw" not in saved.content.decode()
    form = page(soc_admin, f"/intel/feeds/{feed.pk}/edit/")
    assert "s3cret-pw" not in form and "reader" not in form and "some are stored" in form
    # Empty credential boxes keep what is stored; a tick removes it.
    admin.post(
        f"/intel/feeds/{feed.pk}/edit/", feed_form(url=url, username="", password="", tlp="red")
    )
    feed.refresh_from_db()
    assert feed.tlp == "red" and feed.credentials == {"username": "reader", "password": "s3cret-pw"}
    admin.post(f"/intel/feeds/{feed.pk}/edit/", feed_form(url=url, clear_credentials="on"))
    feed.refresh_from_db()
    assert feed.credentials is None
    trail = AuditEntry.objects.filter(object_id=str(feed.pk)).order_by("seq")
    changes = [e.action for e in trail if not e.action.endswith(".read")]
    assert changes == ["threatintel.create", "threatintel.update", "threatintel.update"]
    assert "s3cret-pw" not in json.dumps([e.changes for e in trail])
    assert trail.get(action="threatintel.create").changes["credentials"][1] == "changed"


def test_a_schedule_without_a_url_is_refused(soc_admin):
    response = browser(soc_admin).post("/intel/feeds/new/", feed_form(url="", feed_format="list"))
    assert "Polling (a schedule, TAXII, a MISP feed) needs a URL." in response.content.decode()


def upload(user, content: bytes, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"file": SimpleUploadedFile("iocs.txt", content), "format": "list", **fields}
    return browser(user).post("/intel/import/", data)


def test_the_import_form_shows_counts_and_skip_reasons_escaped(manager, analyst_a):
    assert browser(analyst_a).get("/intel/import/").status_code == 403
    ThreatIntelFactory(source_name="uploads")
    response = upload(manager, f"evil.example.net\n10.1.2.3\n{SCRIPT}\n".encode(), feed="uploads")
    shown = response.content.decode()
    assert response.status_code == 200 and 'id="import-result"' in shown
    assert "1 new, 0 updated, 0 unchanged,\n2 skipped" in shown
    assert SCRIPT not in shown and ESCAPED in shown
    assert "line 2" in shown and "line 3" in shown
    assert IOC.objects.filter(intel__source_name="uploads").count() == 1


def test_a_refused_file_stores_nothing_and_says_why(manager):
    ThreatIntelFactory(source_name="uploads")
    response = upload(
        manager, b'{"type": "bundle", "objects": [{"type": ', format="stix", feed="uploads"
    )
    shown = response.content.decode()
    assert response.status_code == 200 and 'id="import-result"' not in shown
    assert "iocs.txt" in shown  # the message names the file
    assert not IOC.objects.exists()


def test_the_admin_never_shows_a_feeds_credentials(soc_admin, auditor):
    feed = ThreatIntelFactory(credentials={"api_key": "misp-secret-key"})
    for user in (soc_admin, auditor):
        shown = page(user, f"/admin/intel/threatintel/{feed.pk}/change/")
        assert feed.source_name in shown and "misp-secret-key" not in shown


def test_the_admins_feed_url_without_a_scheme_is_https(soc_admin, rf):
    """As the console's feed form reads it (and Django 6 will): not http, and no
    RemovedInDjango60Warning (an error in the tests) when the admin builds its form."""
    from django.contrib import admin

    request = rf.get("/admin/intel/threatintel/add/")
    request.user = soc_admin
    form = admin.site._registry[ThreatIntel].get_form(request)()
    assert (
        form.fields["url"].clean("taxii.example.org/taxii2/") == "https://taxii.example.org/taxii2/"
    )
