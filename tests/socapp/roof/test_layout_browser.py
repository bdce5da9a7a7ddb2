"""The console's layout at 1400 px in a real browser (headless Debian Chromium,
Playwright), issue 14 defect 4: no page is wider than the window (long alert titles,
entities and an evidence SHA-256 wrap or scroll inside their own box), the ATT&CK matrix
shows every tactic, every page has an icon that loads, and the dashboard's time axes
use the 24-hour clock."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.entities import alert_entities
from incidents.services import evidence_add, incident_create
from socapp.roof.bootstrap import BootstrapReport, ensure_rule_pack
from tests.factories import AlertFactory, SourceFactory, severity
from tests.live_console import (  # noqa: F401
    assert_no_policy_violations,
    chromium,
    live_console,
    log_in,
    web_passwords,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTH = 1400
# What an analyst's screen holds in a busy hour: long rule titles with the entity in
# them, many entities, a host name without a break in it.
LONG_TITLE = (
    "SSH brute force followed by a successful login from 203.0.113.77 against "
    "build-runner-07.ci.eu-west-1.internal.example.com as svc_deploy_automation"
)
ENTITIES = {
    "source.ip": "2001:db8:85a3:1234:5678:8a2e:370:7334",
    "destination.ip": "10.20.30.40",
    "user.name": "svc_deploy_automation_account_with_a_long_name",
    "host.name": "build-runner-07.ci.eu-west-1.internal.example.com",
    "process.executable": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
}
EVIDENCE = b"memory dump of build-runner-07" * 100


@pytest.fixture
def stage(settings, tmp_path, analyst_a, team_a):
    """A busy console for analyst A: open alerts with long titles and many entities, an
    incident holding them and an evidence file, a source, the rule pack."""
    web_passwords(settings, analyst_a)
    settings.EVIDENCE_ROOT = str(tmp_path / "evidence")
    ensure_rule_pack(BootstrapReport())
    SourceFactory(team=team_a, name="sshd-" + "edge-gateway-" * 4, format="syslog")
    now = timezone.now()
    details = {"entities": ENTITIES}
    alerts = [
        AlertFactory(
            team=team_a,
            title=f"{LONG_TITLE} #{n}",
            severity=severity("high"),
            details=details,
            entities=alert_entities(details),
            triggered_at=now - timedelta(hours=n + 1),
            last_seen_at=now - timedelta(hours=n + 1),
        )
        for n in range(5)
    ]
    incident = incident_create(actor=analyst_a, title=LONG_TITLE, team=team_a, alerts=alerts[:3])
    evidence_add(
        incident=incident,
        actor=analyst_a,
        name="build-runner-07-memory-" + "x" * 60 + ".dmp",
        content=io.BytesIO(EVIDENCE),
    )
    return incident


def _page(chromium, live_console):  # noqa: F811
    page = log_in(chromium, live_console, "analyst_a")
    page.set_viewport_size({"width": WIDTH, "height": 900})
    return page


def _fits(page) -> None:
    """Nothing sticks out of the window: the page scrolls only downwards."""
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert widths[0] <= WIDTH and widths[1] <= WIDTH, f"{page.url} is {widths[:2]} px wide"
    # and every card holds its content: no table sticks out of it or needs scrolling
    overflowing = page.evaluate(
        """[...document.querySelectorAll('main .card')]
             .filter((card) => card.scrollWidth > card.clientWidth
               || card.getBoundingClientRect().right > window.innerWidth)
             .map((card) => card.querySelector('h2, h3')?.textContent
               + ': ' + card.scrollWidth + ' > ' + card.clientWidth)"""
    )
    assert overflowing == [], f"cards too narrow on {page.url}: {overflowing}"


def test_overview_and_incident_fit_1400_px_with_long_titles_and_hashes(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    stage,
):
    page = _page(chromium, live_console)
    page.goto(f"{live_console.url}/")
    page.wait_for_selector("text=Newest open alerts")
    _fits(page)
    # the whole alert title is there to read (wrapped, not clipped)
    assert page.get_by_text(f"{LONG_TITLE} #0").is_visible()

    page.goto(f"{live_console.url}/incidents/{stage.number}/")
    page.wait_for_selector("section[aria-label=Evidence]")
    _fits(page)
    digest = hashlib.sha256(EVIDENCE).hexdigest()
    hash_box = page.locator("section[aria-label=Evidence] .hash")
    assert hash_box.inner_text().replace("\n", "") == digest  # all 64 digits, readable
    box = hash_box.bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTH
    # the copy button puts the whole digest on the clipboard
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("section[aria-label=Evidence] button.copy").click()
    page.wait_for_selector("section[aria-label=Evidence] button.copy:text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == digest
    assert_no_policy_violations(page)


def test_the_other_pages_with_tables_fit_1400_px_too(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    stage,
):
    page = _page(chromium, live_console)
    alert = stage.alerts.order_by("triggered_at").first()
    for path in ("/alerts/", f"/alerts/{alert.pk}/", "/incidents/", "/rules/", "/dashboard/"):
        page.goto(f"{live_console.url}{path}")
        page.wait_for_load_state("load")
        _fits(page)


def test_the_attack_matrix_shows_every_tactic_at_1400_px(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    stage,
):
    page = _page(chromium, live_console)
    page.goto(f"{live_console.url}/rules/coverage/")
    headers = page.locator(".matrix h3")
    assert headers.count() == 15
    for n in range(15):
        box = headers.nth(n).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (
            headers.nth(n).inner_text(),
            box,
        )
        assert headers.nth(n).is_visible()
    _fits(page)
    # "covered only": the tactics none of the rules watches are gone, not empty columns
    page.get_by_role("link", name="Covered techniques only").click()
    page.wait_for_url(re.compile(r"covered=1"))
    columns = page.locator(".matrix > section")
    shown = columns.count()
    assert 0 < shown < 15
    for n in range(shown):
        assert columns.nth(n).locator("li.technique.covered").count() > 0
    hidden = page.inner_text("#hidden-tactics")
    assert hidden.startswith("Tactics with no watched technique are hidden: ")
    assert len(hidden.split(": ", 1)[1].split(", ")) == 15 - shown
    _fits(page)
    assert_no_policy_violations(page)


def test_every_page_has_an_icon_that_loads(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    stage,
):
    page = _page(chromium, live_console)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    for path in ("/", f"/incidents/{stage.number}/", "/rules/coverage/", "/dashboard/"):
        page.goto(f"{live_console.url}{path}")
        icon = page.locator("link[rel=icon]")
        assert icon.count() == 1
        href = icon.get_attribute("href")
        assert href and href.endswith(".svg")
        fetched = page.request.get(f"{live_console.url}{href}")
        assert fetched.status == 200 and b"<svg" in fetched.body()
        assert fetched.headers["content-type"].startswith("image/svg+xml")
    # and for whoever asks the old way (no login needed)
    old_way = page.context.request.get(f"{live_console.url}/favicon.ico")
    assert old_way.status == 200 and old_way.url.endswith(".svg")
    assert failed == []


def test_dashboard_time_axes_use_the_24_hour_clock(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    stage,
):
    # an en-US browser: the one whose default clock is the 12-hour one
    context = chromium.new_context(locale="en-US", viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    page.goto(f"{live_console.url}/accounts/login/")
    page.fill("input[name=username]", "analyst_a")
    from tests.conftest import PASSWORD

    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_console.url}/")
    page.goto(f"{live_console.url}/dashboard/")
    page.wait_for_selector("#chart-alerts svg text.axis")
    ticks = page.locator("#chart-alerts svg text.axis").all_text_contents()
    times = [t for t in ticks if ":" in t]
    assert len(times) >= 3, ticks
    for text in times:
        assert re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text), times
        assert not re.search(r"AM|PM", text, re.IGNORECASE)
    tooltips = page.locator("#chart-alerts svg rect title").all_text_contents()
    assert tooltips and all(re.search(r"\((?:[01]\d|2[0-3]):[0-5]\d\)", t) for t in tooltips)
    _fits(page)
    context.close()


def test_the_header_is_one_line_at_1400_px(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    settings,
    manager,
):
    # The incident manager: every console page (the admin's are staff pages on top,
    # behind a second factor this server demands).
    web_passwords(settings, manager)
    page = log_in(chromium, live_console, "manager")
    page.set_viewport_size({"width": WIDTH, "height": 900})
    page.goto(f"{live_console.url}/")
    items = page.locator(".topbar nav a, .topbar .logout a, .topbar .logout button")
    assert items.count() >= 13
    tops = {round(items.nth(n).bounding_box()["y"]) for n in range(items.count())}
    heights = {round(items.nth(n).bounding_box()["height"]) for n in range(items.count())}
    assert max(tops) - min(tops) <= 8, f"the header wraps: link tops at {sorted(tops)}"
    assert max(heights) <= 2 * min(heights), "a link's label breaks inside itself"
    _fits(page)
