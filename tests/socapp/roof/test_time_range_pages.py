"""The queue, the search and the dashboard read one range the same way (socapp/timerange.py):
the same parameters, the same picker, the same 400 for a bad range, and the range picked
on one carried by the navigation's links to the others."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from socapp.models import UserPreference
from socapp.roof.dashboard import window_for
from socapp.timerange import time_range_from
from tests.conftest import client_for
from tests.factories import AlertFactory

pytestmark = pytest.mark.django_db

PAGES = ["/alerts/", "/events/search/", "/dashboard/"]


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _words(html: str) -> str:
    match = re.search(r'id="time-range-words"[^>]*><strong>(.*?)</strong>', html, re.S)
    assert match, "the page has the picker"
    return match.group(1)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"range": "1h"}, "Last 1 hour"),
        ({"range": "now-6h"}, "Last 6 hours"),
        ({"last": "90m", "range": "24h"}, "Last 90 minutes"),
        (
            {"since": "2026-12-07T09:00:00+00:00", "until": "2026-12-07T10:30:00+00:00"},
            "2026-12-07 10:00:00 CET to 2026-12-07 11:30:00 CET",
        ),
        (
            {"range": "custom", "since": "2026-12-07T09:00", "until": "2026-12-07T10:30"},
            "2026-12-07 09:00:00 CET to 2026-12-07 10:30:00 CET",
        ),
    ],
)
def test_every_page_reads_the_same_parameters(analyst_a, path, params, words):
    UserPreference.objects.create(user=analyst_a, time_zone="Europe/Berlin")
    response = _browser(analyst_a).get(path, params)
    assert response.status_code == 200
    assert _words(response.content.decode()) == words


@pytest.mark.parametrize("path", PAGES)
def test_the_from_and_to_fields_show_the_consoles_24_hour_format_in_the_users_zone(analyst_a, path):
    UserPreference.objects.create(user=analyst_a, time_zone="America/New_York")
    params = {"since": "2026-12-07T13:00:00Z", "until": "2026-12-07T23:30:05Z"}
    html = _browser(analyst_a).get(path, params).content.decode()
    assert 'id="time-range-since" size="19"' in html  # text, not the locale's picker
    assert 'value="2026-12-07 08:00:00"' in html and 'value="2026-12-07 18:30:05"' in html
    # and what they show reads back as the same range
    again = _browser(analyst_a).get(
        path, {"range": "custom", "since": "2026-12-07 08:00:00", "until": "2026-12-07 18:30:05"}
    )
    assert _words(again.content.decode()) == _words(html)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"range": "lots"}, "A relative range is a number and a unit"),
        ({"range": "400d"}, "A range is at most 366 days."),
        ({"last": "7x"}, "A relative range is a number and a unit"),
        ({"range": "custom", "since": "soon"}, "Give a date and time"),
        (
            {"since": "2026-12-08T00:00Z", "until": "2026-12-07T00:00Z"},
            "The range must start before it ends.",
        ),
        (
            {"range": "custom", "since": "2026-03-29T02:30", "until": "2026-03-29T05:00"},
            "does not exist in Europe/Berlin",
        ),
        ({"since": "9" * 300}, "not a date and time"),
    ],
)
def test_every_page_refuses_a_bad_range_with_a_400_saying_why(analyst_a, path, params, message):
    UserPreference.objects.create(user=analyst_a, time_zone="Europe/Berlin")
    response = _browser(analyst_a).get(path, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'id="time-range-error"' in response.content.decode()


def test_the_queue_counts_only_alerts_seen_in_the_range_and_stays_on_open_ones(analyst_a, team_a):
    now = timezone.now()
    AlertFactory(team=team_a, title="seen just now", triggered_at=now, last_seen_at=now)
    old = now - timedelta(hours=3)
    AlertFactory(team=team_a, title="seen hours ago", triggered_at=old, last_seen_at=old)
    AlertFactory(
        team=team_a, title="closed now", status="closed", triggered_at=now, last_seen_at=now
    )
    page = _browser(analyst_a).get("/alerts/", {"range": "now-1h"}).content.decode()
    assert "seen just now" in page and "seen hours ago" not in page
    # A range carried from another page keeps the queue's default: the open alerts.
    assert "closed now" not in page
    any_time = _browser(analyst_a).get("/alerts/", {"range": "any"}).content.decode()
    assert "seen just now" in any_time and "seen hours ago" in any_time
    assert _words(any_time) == "Any time"


def test_the_alert_api_takes_the_same_relative_ranges(analyst_a, team_a):
    now = timezone.now()
    AlertFactory(team=team_a, title="recent", triggered_at=now, last_seen_at=now)
    AlertFactory(
        team=team_a,
        title="older",
        triggered_at=now - timedelta(hours=8),
        last_seen_at=now - timedelta(hours=8),
    )
    api = client_for(analyst_a)
    titles = [a["title"] for a in api.get("/api/v1/alerts/", {"range": "now-6h"}).json()["results"]]
    assert titles == ["recent"]
    assert len(api.get("/api/v1/alerts/", {"range": "24h"}).json()["results"]) == 2
    refused = api.get("/api/v1/alerts/", {"range": "6 hours"})
    assert refused.status_code == 400 and "range" in refused.json()


def test_the_range_picked_on_one_page_is_carried_by_the_navigation(analyst_a):
    browser = _browser(analyst_a)
    browser.get("/events/search/", {"q": "", "range": "1h"})
    for path in ("/incidents/", "/dashboard/", "/alerts/"):
        html = browser.get(path).content.decode()
        assert 'href="/alerts/?range=1h"' in html
        assert 'href="/events/search/?range=1h"' in html
        assert 'href="/dashboard/?range=1h"' in html
    # Choosing "any time" on the queue forgets it.
    html = browser.get("/alerts/", {"range": "any"}).content.decode()
    assert 'href="/events/search/"' in html
    # A bad range is not remembered.
    browser.get("/dashboard/", {"range": "2h"})
    browser.get("/dashboard/", {"range": "nonsense"})
    assert 'href="/alerts/?range=2h"' in browser.get("/incidents/").content.decode()


def test_the_dashboard_charts_get_the_range_and_the_zone(analyst_a):
    UserPreference.objects.create(user=analyst_a, time_zone="America/New_York")
    html = _browser(analyst_a).get("/dashboard/", {"range": "now-6h"}).content.decode()
    assert 'data-api-url="/api/v1/dashboard/?range=6h"' in html
    assert 'data-time-zone="America/New_York"' in html
    absolute = (
        _browser(analyst_a)
        .get("/dashboard/", {"since": "2026-12-07T09:00", "until": "2026-12-07T12:00"})
        .content.decode()
    )
    # The API is asked for the same moments, offsets included (it reads no zone).
    assert (
        "since=2026-12-07T09%3A00%3A00-05%3A00&amp;until=2026-12-07T12%3A00%3A00-05%3A00"
        in absolute
    )


def test_the_dashboard_api_reads_the_same_range(analyst_a):
    api = client_for(analyst_a)
    six = api.get("/api/v1/dashboard/", {"range": "now-6h"}).json()
    assert six["hours"] == 6 and len(six["buckets"]) == 6 and six["bucket_seconds"] == 3600
    month = api.get("/api/v1/dashboard/", {"range": "30d"}).json()
    assert month["bucket_seconds"] == 86400 and len(month["buckets"]) == 30
    fixed = api.get(
        "/api/v1/dashboard/", {"since": "2026-12-01T00:00:00Z", "until": "2026-12-03T00:00:00"}
    ).json()
    assert fixed["since"] == "2026-12-01T00:00:00+00:00" and len(fixed["buckets"]) == 48
    assert api.get("/api/v1/dashboard/", {"hours": 168}).json()["hours"] == 168
    for params, field in [
        ({"range": "soon"}, "range"),
        ({"since": "2026-12-03T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "since"),
        ({"range": "any"}, "range"),
        ({"hours": 5}, "hours"),
    ]:
        refused = api.get("/api/v1/dashboard/", params)
        assert refused.status_code == 400 and field in refused.json(), params


@pytest.mark.parametrize(("length", "most"), [("48h", 48), ("8d", 32), ("62d", 62), ("366d", 54)])
def test_the_dashboards_bars_are_bounded_whatever_the_range(length, most):
    window = window_for(time_range_from({"range": length}))
    assert len(window.buckets) <= most
    fixed = time_range_from(
        {"since": "2025-12-07T00:00:01Z", "until": "2026-12-07T23:59:59Z"}, default=None
    )
    assert len(window_for(fixed).buckets) <= 54
