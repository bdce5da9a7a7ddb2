"""The rule pages as people use them: the list, the editor (save, errors at their line,
test on a pasted event), enable/disable, the health page, the backtest button and the
ATT&CK coverage view — with each role's rights, and log content always escaped."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from correlation.models import CorrelationRule
from correlation.services import batch_correlate, rule_save
from events.ingest import events_ingest
from events.parsers import RawRecord
from tests.correlation.test_rule_pack import failed
from tests.factories import SourceFactory

GOOD = """title: Sudo to root by a web server account
id: {id}
status: experimental
logsource:
  product: linux
  service: sudo
detection:
  selection:
    user.name: www-data
  condition: selection
level: high
"""
BAD = """title: Broken
id: 2b0f4bde-4c51-4c7e-9d3f-111111111111
logsource:
  product: linux
detection:
  selection:
    process.name|endwith: sshd
  condition: selection
level: high
"""


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pack_rule(name: str) -> CorrelationRule:
    return CorrelationRule.objects.get(sigma_name=name)


# -- list ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_analysts_list_and_search_rules_and_people_without_a_role_cannot(pack, analyst_a, nobody):
    page = browser(analyst_a).get("/rules/", {"q": "brute"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "SSH brute force" in text and "Port scan" not in text
    by_technique = browser(analyst_a).get("/rules/", {"q": "t1046"}).content.decode()
    assert "Port scan" in by_technique and "Horizontal scan" in by_technique
    assert browser(nobody).get("/rules/").status_code == 403


# -- editor -------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_admin_writes_a_rule_in_the_editor(soc_admin):
    editor = browser(soc_admin)
    blank = editor.get("/rules/new/").content.decode()
    assert "title: A short, specific title" in blank  # a starting point, not an empty box
    sigma_id = uuid.uuid4()
    response = editor.post(
        "/rules/new/", {"definition": GOOD.format(id=sigma_id), "is_active": "on", "save": ""}
    )
    rule = CorrelationRule.objects.get(sigma_id=sigma_id)
    assert response.status_code == 302 and response["Location"] == f"/rules/{rule.pk}/"
    assert rule.is_active and rule.created_by == soc_admin
    detail = editor.get(f"/rules/{rule.pk}/").content.decode()
    assert "Not evaluated yet" in detail and "version 1" in detail


@pytest.mark.django_db
def test_a_rule_that_does_not_validate_is_shown_with_the_line_at_fault(soc_admin):
    response = browser(soc_admin).post("/rules/new/", {"definition": BAD, "save": ""})
    assert response.status_code == 400
    text = response.content.decode()
    assert "The rule does not validate" in text
    assert 'id="line-7" value="7" class="bad"' in text  # the modifier's line is marked
    assert "line 7:" in text and "endwith" in text
    assert not CorrelationRule.objects.filter(name="Broken").exists()


@pytest.mark.django_db
def test_the_editor_tests_the_rule_on_a_pasted_event_without_saving(soc_admin):
    definition = GOOD.format(id=uuid.uuid4())
    event = {
        "event": {"dataset": "system.auth"},
        "process": {"name": "sudo"},
        "user": {"name": "www-data"},
    }
    editor = browser(soc_admin)
    hit = editor.post(
        "/rules/new/", {"definition": definition, "event": json.dumps(event), "try": "1"}
    )
    assert "<strong>Matches</strong>" in hit.content.decode()
    event["user"]["name"] = "alice"
    miss = editor.post(
        "/rules/new/", {"definition": definition, "event": json.dumps(event), "try": "1"}
    )
    assert "the logsource fits, the detection does not match" in miss.content.decode()
    broken = editor.post(
        "/rules/new/", {"definition": definition, "event": "{not json", "try": "1"}
    )
    assert broken.status_code == 400 and "Not JSON" in broken.content.decode()
    assert CorrelationRule.objects.count() == 0


@pytest.mark.django_db
def test_analysts_may_test_rules_but_not_save_them(pack, analyst_a):
    rule = pack_rule("socapp_ssh_auth_failure")
    editor = browser(analyst_a)
    page = editor.get(f"/rules/{rule.pk}/edit/").content.decode()
    assert 'name="save"' not in page and 'name="try"' in page
    changed = rule.definition.replace("level: informational", "level: critical")
    assert (
        editor.post(f"/rules/{rule.pk}/edit/", {"definition": changed, "save": ""}).status_code
        == 403
    )
    rule.refresh_from_db()
    assert rule.level == "informational"


@pytest.mark.django_db
def test_people_without_a_role_neither_read_a_rule_in_the_editor_nor_run_its_tester(pack, nobody):
    rule = pack_rule("socapp_ssh_auth_failure")
    editor = browser(nobody)
    page = editor.get(f"/rules/{rule.pk}/edit/")
    assert page.status_code == 403
    assert rule.sigma_name not in page.content.decode()
    tried = editor.post(
        f"/rules/{rule.pk}/edit/",
        {"definition": rule.definition, "event": json.dumps({"user": {"name": "x"}}), "try": "1"},
    )
    assert tried.status_code == 403 and "Matches" not in tried.content.decode()
    assert editor.get("/rules/new/").status_code == 403
    assert Client().get(f"/rules/{rule.pk}/edit/").status_code == 302  # to the login page


@pytest.mark.django_db
def test_auditors_read_and_test_rules_in_the_editor_but_save_nothing(pack, auditor):
    rule = pack_rule("socapp_ssh_auth_failure")
    editor = browser(auditor)
    assert editor.get(f"/rules/{rule.pk}/edit/").status_code == 200
    tried = editor.post(
        f"/rules/{rule.pk}/edit/",
        {"definition": rule.definition, "event": json.dumps({"user": {"name": "x"}}), "try": "1"},
    )
    assert tried.status_code == 200 and 'id="try-result"' in tried.content.decode()
    changed = rule.definition.replace("level: informational", "level: critical")
    saved = editor.post(f"/rules/{rule.pk}/edit/", {"definition": changed, "save": ""})
    assert saved.status_code == 403
    new = editor.post("/rules/new/", {"definition": GOOD.format(id=uuid.uuid4()), "save": ""})
    assert new.status_code == 403
    rule.refresh_from_db()
    assert rule.level == "informational"
    assert CorrelationRule.objects.filter(name__startswith="Sudo to root").count() == 0


@pytest.mark.django_db
def test_editing_makes_a_new_version(pack, soc_admin):
    rule = pack_rule("socapp_ssh_brute_force")
    changed = rule.definition.replace("gte: 10", "gte: 20")
    response = browser(soc_admin).post(
        f"/rules/{rule.pk}/edit/", {"definition": changed, "is_active": "on", "save": ""}
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.version, rule.threshold) == (2, 20)
    assert "Versions" in browser(soc_admin).get(f"/rules/{rule.pk}/").content.decode()


@pytest.mark.django_db
def test_admins_disable_and_enable_rules_and_analysts_cannot(pack, soc_admin, analyst_a):
    rule = pack_rule("socapp_port_scan")
    assert browser(analyst_a).post(f"/rules/{rule.pk}/active/", {"active": "0"}).status_code == 403
    browser(soc_admin).post(f"/rules/{rule.pk}/active/", {"active": "0"})
    rule.refresh_from_db()
    assert not rule.is_active
    browser(soc_admin).post(f"/rules/{rule.pk}/active/", {"active": "1"})
    rule.refresh_from_db()
    assert rule.is_active


# -- health and backtest ------------------------------------------------------------


def brute_force(source=None) -> str:
    t0 = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    result = events_ingest(
        source=source or SourceFactory.create(format="syslog"),
        records=[RawRecord(n, failed(t0 + timedelta(seconds=n))) for n in range(12)],
        transport="api",
    )
    return result.batch_id


@pytest.mark.django_db
def test_the_health_page_shows_what_the_engine_did(pack, analyst_a, team_a):
    batch_correlate(batch_id=brute_force(SourceFactory(format="syslog", team=team_a)))
    rule = pack_rule("socapp_ssh_brute_force")
    text = browser(analyst_a).get(f"/rules/{rule.pk}/").content.decode()
    assert '<td id="alerts">1</td>' in text
    assert "source.ip=198.51.100.9" in text  # the alert, which analyst A's team may see
    base = pack_rule("socapp_ssh_auth_failure")
    base_text = browser(analyst_a).get(f"/rules/{base.pk}/").content.decode()
    assert '<td id="hits">12</td>' in base_text and '<td id="errors">0' in base_text


def counter(text: str, name: str) -> int:
    """The figure of one health counter of a rule page (``<td id="hits">12</td>``)."""
    return int(text.split(f'<td id="{name}">', 1)[1].split("<", 1)[0].strip())


@pytest.mark.django_db
def test_a_correlation_rules_health_counts_what_raised_its_alerts(pack, analyst_a, team_a):
    """Issue 14: a correlation rule showed "Hits 0, events evaluated 0" beside "Alerts
    raised 5" - matching counted only the rules it counts. Two attackers: it took both
    attackers' 24 failures into its windows, two windows met its condition, two alerts."""
    source = SourceFactory(format="syslog", team=team_a)
    t0 = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    lines = [
        failed(t0 + timedelta(seconds=n), ip=ip)
        for ip in ("198.51.100.9", "198.51.100.10")
        for n in range(12)
    ]
    result = events_ingest(
        source=source, records=[RawRecord(n, line) for n, line in enumerate(lines)], transport="api"
    )
    batch_correlate(batch_id=result.batch_id)
    rule = pack_rule("socapp_ssh_brute_force")
    text = browser(analyst_a).get(f"/rules/{rule.pk}/").content.decode()
    assert counter(text, "evaluations") == 24  # the failures it counted
    assert counter(text, "hits") == 2 == counter(text, "alerts")  # windows met, alerts raised
    # the rest of each window's failures went into the alert already raised
    assert counter(text, "suppressed") == 24 - 2 * 10
    assert "Hits of the rules it counts" in text and "Windows that met its condition" in text
    listed = browser(analyst_a).get("/rules/", {"q": "socapp_ssh_brute_force"}).content.decode()
    assert "<td>2</td>\n      <td>2</td>" in listed  # the list's Hits and Alerts agree
    base = browser(analyst_a).get(f"/rules/{pack_rule('socapp_ssh_auth_failure').pk}/")
    base_text = base.content.decode()
    assert counter(base_text, "hits") == 24 and "Events evaluated" in base_text


@pytest.mark.django_db
def test_the_backtest_button_shows_what_would_be_raised(pack, analyst_a):
    brute_force()
    rule = pack_rule("socapp_ssh_brute_force")
    response = browser(analyst_a).post(f"/rules/{rule.pk}/backtest/", {"since": "1d", "until": ""})
    text = response.content.decode()
    assert response.status_code == 200
    assert '<strong id="would-raise">1</strong>' in text and "new" in text
    bad = browser(analyst_a).post(f"/rules/{rule.pk}/backtest/", {"since": "someday"})
    assert bad.status_code == 400 and "neither ISO 8601" in bad.content.decode()


# -- coverage -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_coverage_view_places_rules_under_their_techniques(pack, analyst_a):
    rule_save(
        actor=None,
        definition=(
            f"title: Old tag\nid: {uuid.uuid4()}\nlogsource: {{product: windows}}\n"
            "tags: [attack.defense-evasion, attack.t1562.001, attack.t9999]\n"
            "detection:\n  sel: {EventID: 1}\n  condition: sel\nlevel: low\n"
        ),
    )
    page = browser(analyst_a).get("/rules/coverage/")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-technique="T1110"' in text and "SSH brute force" in text
    # a tag from an older ATT&CK version lands where MITRE moved the technique
    assert 'class="technique covered" data-technique="T1685"' in text
    assert "<code>T9999</code>: Old tag" in text
    only = browser(analyst_a).get("/rules/coverage/", {"covered": "1"}).content.decode()
    assert 'data-technique="T1110"' in only and 'data-technique="T1003"' not in only
    # the tactics left empty go (the page names them); the total stays the catalogue's
    assert 'aria-label="Reconnaissance"' in text and 'aria-label="Reconnaissance"' not in only
    assert "hidden:" in only and "Reconnaissance" in only.split('id="hidden-tactics"')[1]
    total = re.search(r"</span> of (\d+) Enterprise techniques", text)
    assert total and f"</span> of {total[1]} Enterprise techniques" in only


# -- escaping -----------------------------------------------------------------------


@pytest.mark.django_db
def test_rule_text_from_anyone_renders_as_text(soc_admin):
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    rule = rule_save(
        actor=None,
        definition=(
            f"title: '{hostile}'\nid: {uuid.uuid4()}\ndescription: '{hostile}'\n"
            "logsource: {product: linux}\ndetection:\n  sel: {a: b}\n  condition: sel\nlevel: low\n"
        ),
    )
    for url in ("/rules/", f"/rules/{rule.pk}/", f"/rules/{rule.pk}/edit/"):
        text = browser(soc_admin).get(url).content.decode()
        assert "<script>alert(1)" not in text and "<img src=x" not in text, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, url
