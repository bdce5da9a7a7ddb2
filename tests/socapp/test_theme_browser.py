"""The dark theme in a real browser (headless Debian Chromium, Playwright) against uvicorn:
a browser that prefers dark gets dark pages whose every text keeps WCAG AA contrast; the
header's switch (light / dark / system) changes the theme at once, is remembered across a
reload before the first paint, and is shared with the Django admin; no page breaks the
Content-Security-Policy doing it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.entities import alert_entities
from tests.factories import AlertFactory, CorrelationRuleFactory, IncidentFactory, severity
from tests.live_console import (  # noqa: F401
    assert_no_policy_violations,
    chromium,
    live_console,
    log_in,
    watched_context,
    web_passwords,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Relative luminance (WCAG 2) of an element's computed colours, and every visible text
# whose contrast with the background behind it is under AA's 4.5:1.
_COLOURS_JS = """
(() => {
  function rgb(value) {
    const parts = (value.match(/[\\d.]+/g) || []).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  }
  function luminance(c) {
    const lin = (v) => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
  }
  function backdrop(node) {
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.a > 0.5) return c;
    }
    return rgb(getComputedStyle(document.documentElement).backgroundColor);
  }
  function ratio(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }
  window.__socappColours = {
    of(selector) {
      const node = document.querySelector(selector);
      if (!node) return null;
      const style = getComputedStyle(node);
      return { background: luminance(backdrop(node)), text: luminance(rgb(style.color)),
               fill: luminance(rgb(style.fill)), stroke: luminance(rgb(style.stroke)) };
    },
    poorContrast() {
      const found = [];
      for (const node of document.body.querySelectorAll("*")) {
        if (node.closest("svg, option, [hidden]") || !node.getClientRects().length) continue;
        const text = [...node.childNodes].filter((c) => c.nodeType === 3)
          .map((c) => c.textContent.trim()).join(" ").trim();
        if (!text) continue;
        const value = ratio(rgb(getComputedStyle(node).color), backdrop(node));
        if (value < 4.5) found.push({ text: text.slice(0, 40), tag: node.tagName,
                                      cls: node.className, ratio: Math.round(value * 100) / 100 });
      }
      return found;
    },
  };
})();
"""

DARK = 0.05  # #0f131a (the dark page) is 0.006; #181d26 (a dark card) is 0.012
LIGHT = 0.6  # #e3e7ee (the dark theme's text) is 0.79


def colours(page, selector: str) -> dict:
    return page.evaluate("s => window.__socappColours.of(s)", selector)


def assert_dark(page, selector: str = "body") -> None:
    found = colours(page, selector)
    assert found is not None, f"{selector} missing on {page.url}"
    assert found["background"] < DARK, (page.url, selector, found)
    assert found["text"] > LIGHT, (page.url, selector, found)


def close_quietly(*pages) -> None:
    """Closes the pages' contexts, so that no live socket or dashboard poll of theirs is
    still reading from the database when the test's flush truncates it."""
    for page in pages:
        page.context.close()


def theme_of(page) -> str | None:
    return page.evaluate("document.documentElement.dataset.theme")


def test_a_browser_that_prefers_dark_gets_dark_readable_pages(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    settings,
    soc_admin,
    team_a,
):
    web_passwords(settings, soc_admin)
    rule = CorrelationRuleFactory(name="dark rule")
    details = {"entities": {"source.ip": "203.0.113.5", "user.name": "eve"}}
    at = timezone.now() - timedelta(hours=1)
    alert = AlertFactory(
        team=team_a,
        severity=severity("critical"),
        rule=rule,
        details=details,
        entities=alert_entities(details),
        triggered_at=at,
        last_seen_at=at,
    )
    incident = IncidentFactory(team=team_a, priority="critical", title="dark case")

    anonymous = watched_context(chromium, color_scheme="dark").new_page()
    anonymous.add_init_script(_COLOURS_JS)
    anonymous.goto(f"{live_console.url}/accounts/login/")
    assert_dark(anonymous)
    assert anonymous.evaluate("window.__socappColours.poorContrast()") == []
    assert_no_policy_violations(anonymous)

    page = log_in(chromium, live_console, "soc_admin", color_scheme="dark")
    page.context.add_init_script(_COLOURS_JS)
    pages = {
        "/": ".card",
        "/alerts/": ".badge",
        f"/alerts/{alert.pk}/": ".card",
        f"/incidents/{incident.number}/": ".card",
        f"/rules/{rule.pk}/": ".definition",
        "/rules/coverage/": ".technique",
        "/events/search/?q=*&range=24h": "input",
        "/events/upload/": "select",
        "/incidents/": "table td",
        "/incidents/new/": "textarea",
        "/rules/new/": "textarea.code",
        "/reports/": ".card",
        "/entities/ip/203.0.113.5/": ".card",
        "/accounts/two-factor/": "main",
    }
    for path, part in pages.items():
        page.goto(f"{live_console.url}{path}")
        page.wait_for_load_state("networkidle")
        assert theme_of(page) == "auto"  # nothing chosen: the system's preference
        assert_dark(page)
        assert_dark(page, part)
        assert page.evaluate("window.__socappColours.poorContrast()") == [], path
        assert_no_policy_violations(page)

    # The dashboard's charts: grid lines and axis labels come from the theme's variables.
    page.goto(f"{live_console.url}/dashboard/")
    page.wait_for_selector("#chart-alerts svg rect")
    assert_dark(page, ".card")
    assert colours(page, "#chart-alerts .axis")["fill"] > 0.3  # light grey labels
    assert colours(page, "#chart-alerts .grid")["stroke"] < 0.1  # a faint line, not white
    assert page.evaluate("window.__socappColours.poorContrast()") == []
    assert_no_policy_violations(page)
    close_quietly(page, anonymous)


def test_the_header_switch_changes_the_theme_and_keeps_it_across_reloads(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    settings,
    soc_admin,
):
    web_passwords(settings, soc_admin)
    page = log_in(chromium, live_console, "soc_admin", color_scheme="dark")
    page.context.add_init_script(_COLOURS_JS)
    # What the theme was when <body> came into being, i.e. before the first paint.
    page.context.add_init_script(
        """new MutationObserver((_, observer) => {
             if (!document.body) return;
             window.__themeAtFirstPaint = document.documentElement.dataset.theme || "unset";
             observer.disconnect();
           }).observe(document, { childList: true, subtree: true });"""
    )
    page.goto(f"{live_console.url}/")
    switch = page.get_by_label("Theme")
    assert switch.input_value() == "auto"
    assert_dark(page)

    switch.select_option("light")
    assert theme_of(page) == "light"
    assert colours(page, "body")["background"] > 0.8  # light although the system is dark

    page.reload()
    assert page.evaluate("window.__themeAtFirstPaint") == "light"
    assert page.get_by_label("Theme").input_value() == "light"
    assert colours(page, "body")["background"] > 0.8
    # Django's admin keeps its theme under the same key: one switch for both.
    page.goto(f"{live_console.url}/admin/")
    assert theme_of(page) == "light"

    page.goto(f"{live_console.url}/")
    page.get_by_label("Theme").select_option("auto")
    assert_dark(page)
    page.reload()
    assert page.evaluate("window.__themeAtFirstPaint") == "auto"
    assert page.get_by_label("Theme").input_value() == "auto"
    assert_dark(page)
    # "System" follows the system when it changes, without a reload.
    page.emulate_media(color_scheme="light")
    assert colours(page, "body")["background"] > 0.8
    page.emulate_media(color_scheme="dark")
    assert_dark(page)

    # A choice made in one tab reaches the console's other tabs.
    other = page.context.new_page()
    other.goto(f"{live_console.url}/alerts/")
    page.get_by_label("Theme").select_option("light")
    # a function, not an expression: Playwright polls an expression with eval, which the
    # page's CSP refuses whenever the first check is not already true
    other.wait_for_function("() => document.documentElement.dataset.theme === 'light'")
    assert other.get_by_label("Theme").input_value() == "light"
    assert colours(other, "body")["background"] > 0.8
    assert_no_policy_violations(page)
    assert_no_policy_violations(other)
    close_quietly(page)
