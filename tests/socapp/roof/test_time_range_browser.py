"""The time-range picker in a real browser (headless Debian Chromium, Playwright, against
the live stack): "Last 1 hour" picked on the search is carried by the navigation to the
queue and the dashboard, the picker works from the keyboard, and the page keeps its CSP."""

from __future__ import annotations

import pytest

from socapp.models import UserPreference
from tests.live_console import (  # noqa: F401
    assert_no_policy_violations,
    chromium,
    live_console,
    log_in,
    web_passwords,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_last_hour_picked_on_the_search_carries_to_the_queue_and_the_dashboard(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    settings,
    analyst_a,
    reference_data,
):
    web_passwords(settings, analyst_a)
    UserPreference.objects.create(user=analyst_a, time_zone="Europe/Berlin")
    page = log_in(chromium, live_console, "analyst_a")
    page.goto(f"{live_console.url}/events/search/?q=")
    assert page.inner_text("#time-range-words strong") == "Last 24 hours"
    assert "Europe/Berlin" in page.inner_text(".time-range-zone")
    with page.expect_navigation():
        page.get_by_role("link", name="Last 1 hour").click()
    assert "range=1h" in page.url
    assert page.inner_text("#time-range-words strong") == "Last 1 hour"

    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Dashboard").get_attribute("href") == "/dashboard/?range=1h"
    with page.expect_navigation():
        nav.get_by_role("link", name="Alerts").click()
    assert page.url.endswith("/alerts/?range=1h")
    assert page.inner_text("#time-range-words strong") == "Last 1 hour"
    assert page.get_by_role("link", name="Last 1 hour").get_attribute("aria-current") == "true"

    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    assert page.inner_text("#time-range-words strong") == "Last 1 hour"
    assert page.get_attribute("#dashboard", "data-api-url") == "/api/v1/dashboard/?range=1h"
    assert page.get_attribute("#dashboard", "data-time-zone") == "Europe/Berlin"

    # From the keyboard: the free field, then Enter submits the form.
    page.focus("#time-range-last")
    page.keyboard.type("6h")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.inner_text("#time-range-words strong") == "Last 6 hours"
    # Typing a from/to time chooses "From … to …".
    page.fill("#time-range-since", "2026-12-07T09:00:00")
    assert page.input_value("#time-range-select") == "custom"
    assert_no_policy_violations(page)
