"""The demo story in a real browser (headless Debian Chromium at 1400x900, Playwright)
against the real stack (uvicorn, a Celery worker, PostgreSQL, Redis), on the data
``bootstrap --demo`` makes: the demo analyst logs in with the printed password, finds
the brute force that ended in a login in the queue, previews it, pivots to the attacker's
address and from there to the event search, narrows the search with the histogram and a
field value, escalates the alert, adds the address's brute-force alert to the incident
and closes the incident with a resolution, which closes both alerts.

It also takes the console guide's screenshots (docs/CONSOLE.md): into a temporary
directory, or into SOCAPP_SCREENSHOTS_DIR when set (`make screenshots`)."""

from __future__ import annotations

import os
import re
from io import StringIO
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.management import call_command

from tests.live_console import (  # noqa: F401
    assert_no_policy_violations,
    chromium,
    live_console,
    log_in,
)
from tests.socapp.roof.test_demo import logins

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ATTACKER = "203.0.113.77"
BREACH = "SSH brute force followed by a successful login"
BRUTE_FORCE = "SSH brute force"
INCIDENT_TITLE = f"bastion-01: {ATTACKER} guessed the password of deploy"
# The pictures look the same wherever they are taken: the window the pages are built
# for, the light theme whatever the machine prefers, the server's time zone.
BROWSER = {
    "viewport": {"width": 1400, "height": 900},
    "color_scheme": "light",
    "timezone_id": "UTC",
}
# Generous: the machine running this may be busy with other work.
TIMEOUT_MS = 30_000


@pytest.fixture
def demo_logins(settings, tmp_path) -> dict[str, str]:
    """``manage.py bootstrap --demo`` as `make run` runs it, against the test database;
    the logins it prints. Its logins file goes to a temporary directory, and its users get
    the hashes the web process checks (the test settings hash with MD5 for speed)."""
    from socapp.settings import base

    settings.BASE_DIR = tmp_path
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    out = StringIO()
    call_command("bootstrap", "--demo", stdout=out)
    assert "demo data: created" in out.getvalue()
    return logins(out.getvalue())


@pytest.fixture
def screenshots(tmp_path) -> Path:
    where = os.environ.get("SOCAPP_SCREENSHOTS_DIR")
    path = Path(where) if where else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def hit_count(page) -> int:
    return int(page.locator("#hit-count strong").inner_text())


def bar_counts(page) -> list[int]:
    """Each histogram bar's hits: the count that ends the tooltip it carries."""
    titles = page.locator("#search-histogram a[data-start] title").all_text_contents()
    return [int(title.rsplit(":", 1)[1]) for title in titles]


def drag_across_bars(page, first: int, last: int) -> None:
    """Press on one bar, move to another and let go, as a person selects a time span."""
    targets = page.locator("#search-histogram a[data-start] .hit-target")
    start, end = targets.nth(first).bounding_box(), targets.nth(last).bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def queue_row(page, title: str, entity: str):
    return page.locator(
        f'#alert-queue tr[data-title="{title}"]:has(.main-entity:text-is("{entity}"))'
    )


def test_the_demo_story(live_console, chromium, demo_logins, screenshots):  # noqa: F811
    page = log_in(chromium, live_console, "analyst", demo_logins["analyst"], **BROWSER)
    page.set_default_timeout(TIMEOUT_MS)
    url = live_console.url

    # The queue: the brute force that ended in a login, open, about the attacker.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    page.wait_for_url(re.compile(r".*/alerts/(\?.*)?$"))  # the nav carries the time range
    breach = queue_row(page, BREACH, f"ip:{ATTACKER}")
    assert breach.count() == 1
    assert breach.locator("td.status").inner_text() == "Open"
    assert "Critical" in breach.inner_text()  # raised from High: bastion-01 is critical

    # Its preview: why it fired and the login behind it.
    breach.get_by_role("button", name=f"Preview {BREACH}").click()
    preview = page.get_by_role("complementary", name="Alert preview")
    preview.locator(".preview-body").wait_for()
    why = preview.get_by_role("region", name="Why it fired").inner_text()
    assert BREACH in why and f"source.ip={ATTACKER}" in why
    key_events = preview.get_by_role("region", name="Key events").inner_text()
    assert f"Accepted password for deploy from {ATTACKER}" in key_events
    page.screenshot(path=screenshots / "queue.png")

    # Pivot to the address: its page lists both SSH alerts and the user it logged in as.
    preview.get_by_role("link", name=f"ip:{ATTACKER}").click()
    page.wait_for_url(f"{url}/entities/ip/{ATTACKER}/")
    assert page.get_by_role("heading", level=1).inner_text() == f"ip {ATTACKER}"
    entity_alerts = page.get_by_role("region", name="Alerts").inner_text()
    assert BREACH in entity_alerts and BRUTE_FORCE in entity_alerts.replace(BREACH, "")
    seen_with = page.get_by_role("region", name="Seen with")
    assert seen_with.get_by_role("link", name="deploy").count() == 1

    # ... and from there to the search of its events: a count and a histogram.
    page.get_by_role("link", name="Open in search").click()
    page.wait_for_url(re.compile(r".*/events/search/\?.*"))
    assert f"source.ip:{ATTACKER}" in page.get_by_label("Query").input_value()
    everything = hit_count(page)
    assert everything > 48  # the 48 failed guesses, the login, the disconnects
    counts = bar_counts(page)
    assert sum(counts) == everything and len(counts) > 1

    # Drag across the bars that have hits (two at least): the search of that span finds
    # every hit again, now over finer bars.
    hits_in = [n for n, count in enumerate(counts) if count]
    first, last = hits_in[0], max(hits_in[-1], hits_in[0] + 1)
    if last >= len(counts):
        first, last = len(counts) - 2, len(counts) - 1
    before = page.url
    drag_across_bars(page, first, last)
    page.wait_for_url(lambda now: now != before)
    page.locator("#hit-count").wait_for()
    assert hit_count(page) == sum(counts[first : last + 1]) == everything
    assert sum(bar_counts(page)) == everything
    assert page.get_by_label("Query").input_value().startswith(f"source.ip:{ATTACKER}")
    fields = page.get_by_role("complementary", name="Fields")
    assert fields.locator("h3 code", has_text="user.name").count() == 1
    page.screenshot(path=screenshots / "search.png")

    # Filter for the user it logged in as: fewer hits, every one of them deploy's.
    user_names = fields.locator("section.facet").filter(
        has=page.locator("h3 code", has_text=re.compile(r"^user\.name$"))
    )
    user_names.get_by_role("link", name="Filter for deploy", exact=True).click()
    page.wait_for_url(lambda now: "user.name" in unquote(now))
    query = page.get_by_label("Query").input_value()
    assert f"source.ip:{ATTACKER}" in query and "deploy" in query
    narrowed = hit_count(page)
    assert 0 < narrowed < everything
    rows = page.locator("#search-results tr[data-id] td.entities")
    assert rows.count() == narrowed
    assert all("user:deploy" in text for text in rows.all_inner_texts())

    # Back in the queue, the analyst opens the alert and escalates it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    page.wait_for_url(re.compile(r".*/alerts/(\?.*)?$"))  # the nav carries the time range
    queue_row(page, BREACH, f"ip:{ATTACKER}").get_by_role("link", name=BREACH).click()
    page.wait_for_url(re.compile(r".*/alerts/[0-9a-f-]{36}/$"))
    escalation = page.locator("form", has=page.get_by_role("button", name="Escalate", exact=True))
    escalation.get_by_label("New incident").fill(INCIDENT_TITLE)
    escalation.get_by_label("Type").select_option(label="Account compromise")
    escalation.get_by_role("button", name="Escalate", exact=True).click()
    page.wait_for_url(re.compile(r".*/incidents/INC-\d{4}-\d{4}/$"))
    number = page.url.rstrip("/").rsplit("/", 1)[1]
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == f"{number} · {INCIDENT_TITLE}"
    assert page.locator("ul.messages").inner_text() == f"Escalated to {number}."
    incident_url = page.url

    # The address's brute-force alert joins the incident.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    queue_row(page, BRUTE_FORCE, f"ip:{ATTACKER}").get_by_role(
        "link", name=BRUTE_FORCE, exact=True
    ).click()
    page.wait_for_url(re.compile(r".*/alerts/[0-9a-f-]{36}/$"))
    page.get_by_label("Add to").select_option(number)
    page.get_by_role("button", name="Add to incident").click()
    page.locator("ul.messages", has_text=f"Added to {number}.").wait_for()
    page.get_by_role("link", name=re.compile(f"^{number} ")).click()
    page.wait_for_url(incident_url)

    # Closing it with a resolution closes its two alerts.
    alerts_box = page.get_by_role("region", name="Alerts")
    assert alerts_box.get_by_role("heading").inner_text() == "Alerts (2)"
    closing = page.locator("#close-incident")
    closing.locator("summary").click()
    assert "2 linked alerts still open will be closed" in closing.inner_text()
    closing.get_by_label("Resolution").select_option(label="Resolved")
    # The case template of the incident's type gave it tasks, still open: the form says
    # so, and the analyst closes them with the incident.
    assert "still open" in closing.get_by_role("alert").inner_text()
    closing.get_by_label("Close the open tasks as not needed").check()
    closing.get_by_role("button", name="Close incident").click()
    page.locator("#incident-status", has_text="Closed").wait_for()
    assert page.locator("#incident-resolution").inner_text() == "Resolved"
    statuses = alerts_box.locator("tr td:nth-child(4)").all_inner_texts()
    assert statuses == ["Closed", "Closed"]
    tasks = page.get_by_role("region", name="Tasks").locator("ul.tasks li")
    assert tasks.count() > 0
    assert all("Not needed by analyst" in text for text in tasks.all_inner_texts())
    page.screenshot(path=screenshots / "incident.png")

    # The open queue no longer has them; asked for the address, it shows both closed.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    page.wait_for_url(re.compile(r".*/alerts/(\?.*)?$"))  # the nav carries the time range
    assert page.locator("#alert-queue tr[data-id]").count() > 0
    assert queue_row(page, BREACH, f"ip:{ATTACKER}").count() == 0
    assert queue_row(page, BRUTE_FORCE, f"ip:{ATTACKER}").count() == 0
    filters = page.get_by_role("form", name="Filters")
    for status in ("Open", "Acknowledged", "In progress"):
        filters.get_by_label(status, exact=True).uncheck()
    filters.get_by_label("Entity").fill(f"ip:{ATTACKER}")
    filters.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*/alerts/\?.*entity=.*"))
    for title in (BREACH, BRUTE_FORCE):
        row = queue_row(page, title, f"ip:{ATTACKER}")
        assert row.locator("td.status").inner_text() == f"Closed · {number}"
    assert_no_policy_violations(page)
