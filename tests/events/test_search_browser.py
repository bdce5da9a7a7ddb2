"""The search page's histogram in a real browser (headless Debian Chromium, Playwright)
against the real stack: dragging across the bars searches the time they cover, under
the page's strict CSP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from events.services import events_store
from tests.factories import SourceFactory, event_record
from tests.live_console import (  # noqa: F401
    assert_no_policy_violations,
    chromium,
    live_console,
    log_in,
    web_passwords,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_dragging_across_the_histogram_searches_that_time(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    settings,
    analyst_a,
    reference_data,
):
    web_passwords(settings, analyst_a)
    now = timezone.now()
    events_store(
        source=SourceFactory(name="fw"),
        records=[
            event_record(now - timedelta(minutes=m), raw_data=f"Failed password {m} min ago")
            for m in (50, 20, 5)
        ],
    )
    page = log_in(chromium, live_console, "analyst_a")
    page.goto(f"{live_console.url}/events/search/?q=&range=1h")
    assert "3 hits" in page.inner_text("#hit-count")
    targets = page.locator("#search-histogram .hit-target")
    assert targets.count() == 60  # one bar a minute
    first, last = targets.nth(0).bounding_box(), targets.nth(45).bounding_box()
    assert first and last
    page.mouse.move(first["x"] + first["width"] / 2, first["y"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(last["x"] + last["width"] / 2, last["y"] + last["height"] / 2, steps=10)
    with page.expect_navigation():
        page.mouse.up()
    assert "range=custom" in page.url
    # The first 46 minutes of the hour: the events of 50 and 20 minutes ago, not 5.
    assert "2 hits" in page.inner_text("#hit-count")
    rows = page.inner_text("#search-results")
    assert "Failed password 20 min ago" in rows and "Failed password 5 min ago" not in rows
    assert page.input_value("select[name=range]") == "custom"
    assert_no_policy_violations(page)
