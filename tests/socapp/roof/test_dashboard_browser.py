"""The dashboard in a real browser (headless Debian Chromium, Playwright) against the
real stack: the charts are drawn from the embedded data, names full of markup stay
text, and a new alert shows up without a reload (the live nudge, not the 30 s poll)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.entities import alert_entities
from incidents.services import alert_create
from tests.factories import AlertFactory, CorrelationRuleFactory, severity
from tests.live_console import (  # noqa: F401
    assert_no_policy_violations,
    chromium,
    live_console,
    log_in,
    web_passwords,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RULE_NAME = "<img src=x onerror=alert(7)>"


def _shown(page, selector: str) -> str:
    """The label's own text (its <title> child holds the same text for the tooltip)."""
    return page.eval_on_selector(selector, "node => node.firstChild.nodeValue")


def test_dashboard_draws_escaped_charts_and_follows_new_alerts(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    settings,
    analyst_a,
    team_a,
):
    web_passwords(settings, analyst_a)
    details = {"entities": {"source.ip": "203.0.113.5", "user.name": "<b>eve</b>"}}
    at = timezone.now() - timedelta(hours=1)
    AlertFactory(
        team=team_a,
        severity=severity("high"),
        rule=CorrelationRuleFactory(name=RULE_NAME),
        details=details,
        entities=alert_entities(details),
        triggered_at=at,
        last_seen_at=at,
    )
    dialogs: list[str] = []
    page = log_in(chromium, live_console, "analyst_a")
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_console.url}/dashboard/")

    page.wait_for_selector("#top-rules svg text.label")
    assert _shown(page, "#top-rules svg text.label") == RULE_NAME
    assert _shown(page, "#top-users svg text.label") == "<b>eve</b>"
    assert page.locator("#chart-alerts svg rect").count() == 1
    assert "High" in page.inner_text("#chart-alerts .legend")
    assert "open P1 - Critical" in page.inner_text("#dash-priorities")
    assert page.locator("img[src=x]").count() == 0 and page.locator("b").count() == 0
    assert dialogs == []

    page.wait_for_selector("#dashboard[data-live=on]", timeout=10_000)
    alert_create(
        title="new one",
        severity=severity("critical"),
        team=team_a,
        details={"entities": {"source.ip": "198.51.100.77"}},
    )
    # Well before the 30 s poll: the websocket nudge brought it.
    page.wait_for_selector("#top-source-ips text:text-is('198.51.100.77')", timeout=10_000)
    assert page.locator("#chart-alerts svg rect").count() == 2
    assert "updated" in page.inner_text("#dash-state")
    assert dialogs == []
    assert_no_policy_violations(page)  # charts, live nudges and all, under the CSP
