"""The console in a real browser (headless Debian Chromium, Playwright) against the
real stack: uvicorn, a Celery worker, PostgreSQL, Redis. A log line is ingested over
the API, the engine raises an alert in the worker, the open queue shows it without a
reload; it is triaged, escalated, assigned by a manager (the analyst is told live), and
the timeline shows every step. Another team's analyst sees none of it, and log content
and rule names full of markup render as text everywhere."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from correlation.services import rule_save
from events.services import source_issue_token
from incidents.models import Alert, Incident
from tests.factories import ConnectorFactory, SourceFactory
from tests.live_console import (  # noqa: F401
    assert_no_policy_violations,
    chromium,
    live_console,
    log_in,
    web_passwords,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RULE_TITLE = 'Root login <script>alert("rule")</script> "><img src=x onerror=alert(7)>'
PAYLOAD = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


def _rule(actor) -> None:
    rule_save(
        actor=actor,
        is_active=True,
        definition=f"""
title: '{RULE_TITLE}'
id: {uuid.uuid4()}
logsource: {{product: linux, service: sshd}}
detection:
  selection: {{event.action: ssh_login, event.outcome: success, user.name: root}}
  condition: selection
level: high
""",
    )


def _line(ip: str) -> str:
    now = timezone.now().isoformat()
    return (
        f"<38>1 {now} srv1 sshd 1 - - Accepted password for root from {ip} port 22 ssh2 {PAYLOAD}"
    )


@pytest.fixture
def stage(settings, soc_admin, team_a, analyst_a, analyst_b, manager, case_templates):
    web_passwords(settings, analyst_a, analyst_b, manager)
    _rule(soc_admin)
    source = SourceFactory(team=team_a, format="syslog", name="sshd of team A")
    return source_issue_token(source=source, actor=soc_admin)


def _no_markup_ran(page, dialogs: list) -> None:
    assert dialogs == [], f"script from log content ran: {dialogs}"
    assert page.locator("img[src=x]").count() == 0
    # Data islands (json_script) are inert; any other script without a src was injected.
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0
    # The pages keep to their Content-Security-Policy (no inline script or style).
    assert_no_policy_violations(page)


def test_live_alert_triage_escalation_assignment_and_timeline(live_console, chromium, stage):  # noqa: F811
    dialogs: list[str] = []
    analyst = log_in(chromium, live_console, "analyst_a")
    other = log_in(chromium, live_console, "analyst_b")
    for page in (analyst, other):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{live_console.url}/alerts/")
        page.wait_for_selector("#live-state.on")

    # How fast is for bench/console_bench.py; here it must arrive, without a reload.
    live_console.ingest(stage, [_line("203.0.113.50")])
    row = analyst.wait_for_selector("#alert-queue tr[data-id]", timeout=15_000)
    assert RULE_TITLE in row.inner_text()  # the markup shows as text
    assert "ip:203.0.113.50" in row.inner_text() and "High" in row.inner_text()
    _no_markup_ran(analyst, dialogs)

    # Triage on the detail page: the events behind it, raw and escaped.
    analyst.click(f"#alert-queue a:text-is('{RULE_TITLE}')")
    analyst.wait_for_selector("text=Why it fired")
    analyst.click("details.event summary")
    assert PAYLOAD in analyst.inner_text("pre.raw >> nth=0")
    _no_markup_ran(analyst, dialogs)
    analyst.click("button:text-is('Acknowledge')")
    assert "Acknowledged" in analyst.inner_text("#alert-status")
    analyst.select_option("select[name=incident_type]", "account_compromise")
    analyst.click("button:text-is('Escalate')")
    analyst.wait_for_selector("#incident")
    incident = Incident.objects.get()
    assert incident.number in analyst.inner_text("h1")

    # The manager assigns the case; the analyst is told live and the timeline grows.
    boss = log_in(chromium, live_console, "manager")
    boss.goto(f"{live_console.url}/incidents/{incident.number}/")
    boss.select_option("form[action$='/assign/'] select[name=assignee]", "analyst_a")
    boss.click("form[action$='/assign/'] button")
    toast = analyst.wait_for_selector(".toast", timeout=10_000)
    assert f"{incident.number}" in toast.inner_text() and "assigned to you" in toast.inner_text()
    analyst.wait_for_selector("#timeline li.kind-assigned", timeout=10_000)
    analyst.select_option("form[action$='/status/'] select", "triage")
    analyst.click("form[action$='/status/'] button")
    timeline = analyst.inner_text("#timeline")
    for step in (
        "opened the incident",
        "added alert",
        "tasks from the template",
        "assigned it to analyst_a",
        "moved it from new to triage",
    ):
        assert step in timeline, f"{step!r} missing from the timeline:\n{timeline}"
    assert RULE_TITLE in timeline
    _no_markup_ran(analyst, dialogs)

    # A response action from the incident page: recorded, on the timeline, markup as text.
    analyst.select_option("select[name=action_type]", "manual")
    analyst.fill("input[name=description]", PAYLOAD)
    analyst.click("button:text-is('Run action')")
    analyst.wait_for_selector("#timeline li.kind-action_finished")
    assert PAYLOAD in analyst.inner_text("section[aria-label='Response actions']")
    _no_markup_ran(analyst, dialogs)

    # Blocking the attacker: the incident is high, so the manager approves, live on both
    # pages, and the worker runs the firewall command; its output shows without a reload.
    ConnectorFactory(
        name="edge firewall", kind="command", command=["echo", "blocked", "{ip}"],
        action_types=["block_ip"],
    )  # fmt: skip
    analyst.reload()  # the new connector appears in the form
    boss.goto(f"{live_console.url}/incidents/{incident.number}/")
    boss.wait_for_selector("#live-state.on")
    analyst.select_option("select[name=action_type]", "block_ip")
    analyst.select_option("select[name=connector]", "edge firewall")
    analyst.fill("input[name=target]", "203.0.113.50")
    analyst.fill("input[name=description]", "")
    analyst.click("button:text-is('Run action')")
    analyst.wait_for_selector("#actions-box tr.action-awaiting_approval")
    analyst.wait_for_selector("#live-state.on")
    boss.click("#actions-box button[value=approve]", timeout=10_000)  # arrived live
    analyst.wait_for_selector(
        "#actions-box tr.action-succeeded >> text=exited with 0", timeout=15_000
    )
    assert "blocked 203.0.113.50/32" in analyst.text_content("#actions-box")  # in <details>

    # The event timeline shows the events behind the alert (escaped); closing asks for a
    # resolution, warns about the template's open tasks and closes the alert with it.
    analyst.reload()
    assert "sshd of team A" in analyst.inner_text("#event-timeline")
    _no_markup_ran(analyst, dialogs)
    analyst.click("#close-incident summary")
    assert "still open" in analyst.inner_text("#open-tasks-warning")
    analyst.select_option("#close-incident select[name=resolution]", "resolved")
    analyst.check("#close-incident input[name=close_open_tasks]")
    analyst.click("#close-incident button")
    analyst.wait_for_selector("#incident-resolution")
    assert (Alert.objects.get().status, Alert.objects.get().close_reason) == ("closed", "resolved")

    # Every other page that shows the log line or the rule's name shows them as text.
    rule = Alert.objects.get().rule
    for path in (
        "/",
        "/dashboard/",
        "/incidents/",
        "/events/search/?q=user.name:root&range=24h",
        "/entities/ip/203.0.113.50/",
        f"/rules/{rule.pk}/",
    ):
        analyst.goto(f"{live_console.url}{path}")
        analyst.wait_for_load_state("networkidle")
        _no_markup_ran(analyst, dialogs)
    analyst.goto(f"{live_console.url}/events/search/?q=user.name:root&range=24h")
    analyst.click("#search-results details summary")
    assert PAYLOAD in analyst.inner_text("#search-results pre.raw >> nth=0")

    # Team B's analyst: nothing arrived live, and direct links are 404.
    alert = Alert.objects.get()
    assert other.locator("#alert-queue tr[data-id]").count() == 0
    for path in (f"/alerts/{alert.pk}/", f"/incidents/{incident.number}/"):
        assert other.goto(f"{live_console.url}{path}").status == 404
    other.goto(f"{live_console.url}/incidents/")
    assert incident.number not in other.inner_text("main")
    for page in (analyst, other, boss):
        assert_no_policy_violations(page)
