"""The alert queue's keyboard and clock in a real browser (headless Debian Chromium,
Playwright, against uvicorn and a worker): j/k move the selection, a acknowledges,
p previews, / searches, ? shows the help, e escalates; ages tick without a reload; the
shortcuts keep quiet while one types; grouped rows open in place; a click previews; the
page keeps its Content-Security-Policy."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Alert
from tests.live_console import (  # noqa: F401
    assert_no_policy_violations,
    chromium,
    live_console,
    log_in,
    web_passwords,
)

from .conftest import raise_alert

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MARKUP = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def alerts(settings, team_a, analyst_a, case_templates):
    web_passwords(settings, analyst_a)
    now = timezone.now()
    made = []
    for n, title in enumerate(["newest", f"middle {MARKUP}", "oldest"]):
        alert = raise_alert(team_a, title, source__ip=f"203.0.113.{n + 1}")
        Alert.objects.filter(pk=alert.pk).update(
            triggered_at=now - timedelta(seconds=20 + n * 3600)
        )
        made.append(alert)
    return made


def _current_title(page) -> str:
    return page.locator("#alert-queue tr.current").get_attribute("data-title")


def test_keyboard_shortcuts_and_ticking_ages(live_console, chromium, alerts):  # noqa: F811
    dialogs: list[str] = []
    page = log_in(chromium, live_console, "analyst_a")
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.goto(f"{live_console.url}/alerts/")
    page.wait_for_selector("#live-state.on")

    # Ages tick: "20s" becomes "25s" or so without a reload; the title keeps the absolute
    # time, 24-hour, with its zone.
    age = page.locator("#alert-queue tr[data-title=newest] time")
    first = age.inner_text()
    assert re.fullmatch(r"\d+s", first), first
    page.wait_for_function(
        "(before) => document.querySelector('#alert-queue tr[data-title=newest] time')"
        ".textContent !== before",
        arg=first,
        timeout=8000,
    )
    assert re.fullmatch(r"\d+s", age.inner_text())
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", age.get_attribute("title"))
    assert page.locator("#alert-queue tr[data-title=oldest] time").inner_text() == "2h 0m"

    # the heading's box ticks every row of the page for the bulk bar
    page.check("#select-page")
    assert page.locator("#alert-queue input[name=ids]:checked").count() == 3
    page.uncheck("#select-page")
    assert page.locator("#alert-queue input[name=ids]:checked").count() == 0

    # j / k move the selection
    page.keyboard.press("j")
    assert _current_title(page) == "newest"
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # stays on the last row
    assert _current_title(page) == "oldest"
    page.keyboard.press("k")
    assert _current_title(page) == f"middle {MARKUP}"

    # / focuses the search; typing there moves nothing; Escape leaves the field
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "queue-search"
    page.keyboard.type("jk")
    assert page.input_value("#queue-search") == "jk"
    assert _current_title(page) == f"middle {MARKUP}"
    page.keyboard.press("Escape")

    # ? shows the help, Escape closes it
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#shortcuts").is_visible()

    # p previews the selected alert: why it fired and the matched fields, as text
    page.keyboard.press("p")
    page.wait_for_selector("#preview .preview-body")
    assert "Why it fired" in page.inner_text("#preview")
    assert "203.0.113.2" in page.inner_text("#preview")
    assert MARKUP in page.inner_text("#preview h2")
    page.keyboard.press("Escape")
    assert not page.locator("#preview").is_visible()

    # a acknowledges the selected alert; the row says so
    page.keyboard.press("a")
    page.wait_for_selector(f"#alert-queue tr.current.status-acknowledged[data-id='{alerts[1].pk}']")
    alerts[1].refresh_from_db()
    assert alerts[1].status == "acknowledged"
    assert alerts[0].status == "open"

    # e escalates it (after asking) and opens the new incident
    page.keyboard.press("e")
    page.wait_for_url(re.compile(r".*/incidents/INC-\d{4}-\d{4}/$"))
    assert dialogs and dialogs[0].startswith("Escalate “middle")
    alerts[1].refresh_from_db()
    assert alerts[1].incident is not None
    assert page.locator("img[src=x]").count() == 0
    assert_no_policy_violations(page)


def test_grouped_rows_open_in_place_and_the_preview_opens_on_a_click(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    settings,
    team_a,
    analyst_a,
):
    from tests.factories import CorrelationRuleFactory

    web_passwords(settings, analyst_a)
    rule = CorrelationRuleFactory(name="SSH brute force")
    brute = [raise_alert(team_a, "brute", source__ip="203.0.113.7") for _ in range(3)]
    Alert.objects.filter(pk__in=[a.pk for a in brute]).update(rule=rule)
    page = log_in(chromium, live_console, "analyst_a")
    page.goto(f"{live_console.url}/alerts/")
    page.click("#group-toggle")
    page.wait_for_url(re.compile(r".*[?&]group=1$"))
    assert page.locator("#alert-queue tr[data-id]:visible").count() == 1
    toggle = page.locator(".group-toggle")
    assert toggle.inner_text() == "▸ 3 alerts"
    toggle.click()
    assert page.locator("#alert-queue tr[data-id]:visible").count() == 3
    assert toggle.get_attribute("aria-expanded") == "true"
    toggle.click()
    assert page.locator("#alert-queue tr[data-id]:visible").count() == 1
    # j skips the closed group's members
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.locator("#alert-queue tr.current").get_attribute("data-id") == str(brute[-1].pk)
    page.click("#alert-queue tr.current .preview-open")
    page.wait_for_selector("#preview .preview-body")
    assert "SSH brute force" in page.inner_text("#preview")
    assert_no_policy_violations(page)
