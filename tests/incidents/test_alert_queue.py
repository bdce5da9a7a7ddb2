"""The alert queue built for volume, through the page: sorting that survives paging and
filters, the total count, select-all for bulk changes (bounded, permission-filtered), the
rule picker, the main entity, grouping and the preview."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from incidents.models import Alert
from incidents.selectors import BULK_MATCHING_CAP, QUEUE_PAGE
from socapp.models import AuditEntry
from tests.factories import CorrelationRuleFactory, severity

from .conftest import browser_for, raise_alert

pytestmark = pytest.mark.django_db


def _titles(html: str) -> list[str]:
    """The alert titles of the page's rows, in order."""
    return re.findall(r'<tr data-id="[^"]+" data-sort="[^"]*" data-title="([^"]*)"', html)


def _next_link(html: str) -> str:
    found = re.search(r'<a href="\?([^"]+)">Next page', html)
    assert found, "no next page link"
    return unescape(found.group(1))


def test_columns_sort_both_ways_and_a_bad_sort_falls_back_to_newest_first(analyst_a, team_a):
    for title, hits, level in [("few", 1, "critical"), ("many", 9, "low"), ("some", 4, "medium")]:
        alert = raise_alert(team_a, title, level)
        Alert.objects.filter(pk=alert.pk).update(count=hits)
    client = browser_for(analyst_a)

    def order(query: str) -> list[str]:
        response = client.get("/alerts/?" + query)
        assert response.status_code == 200
        return _titles(response.content.decode())

    assert order("sort=-count") == ["many", "some", "few"]
    assert order("sort=count") == ["few", "some", "many"]
    assert order("sort=-severity") == ["few", "some", "many"]
    assert order("sort=severity") == ["many", "some", "few"]
    assert order("sort=-time") == ["some", "many", "few"]
    # Only the whitelisted columns sort; anything else is the default, never an error.
    assert order("sort=password") == order("sort=-title;drop") == ["some", "many", "few"]
    # a cursor made by hand is ignored (the first page), not an error
    assert order("sort=count&before=x|y") == order("sort=count&before=3|not-a-uuid")
    assert order("sort=count&before=||") == ["few", "some", "many"]
    html = client.get("/alerts/?sort=-count").content.decode()
    assert '<th aria-sort="descending"><a href="?status=open' in html


def test_sorting_by_rule_and_status(analyst_a, team_a):
    zebra, alpha = CorrelationRuleFactory(name="Zebra rule"), CorrelationRuleFactory(name="Alpha")
    first = raise_alert(team_a, "by zebra")
    second = raise_alert(team_a, "by alpha")
    Alert.objects.filter(pk=first.pk).update(rule=zebra, status="acknowledged")
    Alert.objects.filter(pk=second.pk).update(rule=alpha)
    client = browser_for(analyst_a)
    assert _titles(client.get("/alerts/?sort=rule").content.decode()) == ["by alpha", "by zebra"]
    # status in the order work flows: open before acknowledged
    assert _titles(client.get("/alerts/?sort=status").content.decode()) == [
        "by alpha",
        "by zebra",
    ]
    assert _titles(client.get("/alerts/?sort=-status").content.decode()) == [
        "by zebra",
        "by alpha",
    ]


def test_the_sort_survives_paging_and_filters_and_the_count_is_the_teams(analyst_a, team_a, team_b):
    now = timezone.now()
    total = QUEUE_PAGE + 5
    Alert.objects.bulk_create(
        Alert(
            title=f"hit {n:02d}",
            severity=severity("low"),
            team=team_a,
            count=n + 1,
            triggered_at=now - timedelta(minutes=n),
            last_seen_at=now,
        )
        for n in range(total)
    )
    for n in range(3):
        raise_alert(team_b, f"team b {n}", "low")
    client = browser_for(analyst_a)

    first = client.get("/alerts/?severity=low&sort=count").content.decode()
    assert re.search(r"<strong>55</strong>\s+alerts match", first)
    query = _next_link(first)
    assert "sort=count" in query and "severity=low" in query
    second = client.get("/alerts/?" + query).content.decode()
    counts = [int(c) for c in re.findall(r'<td class="num">(\d+)</td>', first + second)]
    assert counts == list(range(1, total + 1))  # ascending across both pages, none twice
    assert "team b" not in first + second
    # the filter form keeps the sort when the filters change
    assert '<input type="hidden" name="sort" value="count">' in first


def test_select_all_matching_changes_only_the_users_alerts_matching_the_filters(
    analyst_a, analyst_b, team_a, team_b
):
    low = [raise_alert(team_a, f"low {n}", "low") for n in range(3)]
    high = raise_alert(team_a, "high one", "high")
    theirs = [raise_alert(team_b, f"theirs {n}", "low") for n in range(2)]
    client = browser_for(analyst_a)
    page = client.get("/alerts/?severity=low").content.decode()
    query = re.search(r'name="query" value="([^"]+)"', page).group(1)
    assert "all 3" in page

    answer = client.post(
        "/alerts/bulk/",
        {"action": "acknowledge", "scope": "matching", "query": unescape(query)},
        follow=True,
    ).content.decode()
    assert "Acknowledged 3 alerts." in answer
    status = dict(Alert.objects.values_list("pk", "status"))
    assert {status[a.pk] for a in low} == {"acknowledged"}
    assert status[high.pk] == "open"
    assert {status[a.pk] for a in theirs} == {"open"}  # team B's, though they match
    # a crafted query cannot widen it: team B's name as a filter matches nothing of A's
    client.post(
        "/alerts/bulk/",
        {"action": "close", "close_reason": "duplicate", "scope": "matching", "query": "team=B"},
    )
    assert not Alert.objects.filter(status="closed").exists()
    assert browser_for(analyst_b).get("/alerts/").content.decode().count("<tr data-id=") == 2


def test_select_all_matching_is_capped_and_says_so(analyst_a, team_a):
    now = timezone.now()
    Alert.objects.bulk_create(
        Alert(
            title=f"flood {n}",
            severity=severity("low"),
            team=team_a,
            triggered_at=now - timedelta(seconds=n),
            last_seen_at=now,
        )
        for n in range(BULK_MATCHING_CAP + 2)
    )
    client = browser_for(analyst_a)
    page = client.get("/alerts/").content.decode()
    assert f"(the newest {BULK_MATCHING_CAP} at a time)" in page
    answer = client.post(
        "/alerts/bulk/",
        {"action": "acknowledge", "scope": "matching", "query": "status=open"},
        follow=True,
    ).content.decode()
    assert (
        f"Only the newest {BULK_MATCHING_CAP} of {BULK_MATCHING_CAP + 2} matching alerts" in answer
    )
    assert Alert.objects.filter(status="acknowledged").count() == BULK_MATCHING_CAP
    left = set(Alert.objects.filter(status="open").values_list("title", flat=True))
    assert left == {f"flood {BULK_MATCHING_CAP}", f"flood {BULK_MATCHING_CAP + 1}"}  # the oldest
    assert AuditEntry.objects.filter(action="alert.update").count() >= BULK_MATCHING_CAP


def test_the_rule_picker_offers_names_and_filters_by_name_or_sigma_name(analyst_a, team_a):
    rule = CorrelationRuleFactory(name="SSH brute force", sigma_name="socapp_ssh_brute_force")
    other = CorrelationRuleFactory(name="Port scan")
    mine = raise_alert(team_a, "brute")
    Alert.objects.filter(pk=mine.pk).update(rule=rule)
    Alert.objects.filter(pk=raise_alert(team_a, "scan").pk).update(rule=other)
    client = browser_for(analyst_a)
    page = client.get("/alerts/").content.decode()
    assert '<option value="SSH brute force">socapp_ssh_brute_force</option>' in page
    assert '<option value="socapp_ssh_brute_force">SSH brute force</option>' in page
    assert 'list="rule-names"' in page and "Rule id" not in page
    for reference in ("SSH brute force", "socapp_ssh_brute_force", str(rule.pk)):
        assert _titles(client.get("/alerts/", {"rule": reference}).content.decode()) == ["brute"]


def test_the_title_cell_names_the_main_entity_and_ages_carry_the_absolute_time(analyst_a, team_a):
    raise_alert(team_a, "<b>brute</b>", source__ip="203.0.113.9", user__name="root")
    html = browser_for(analyst_a).get("/alerts/").content.decode()
    entity = 'title="What the alert is mainly about">ip:203.0.113.9</span>'
    assert entity in html
    assert "&lt;b&gt;brute&lt;/b&gt;" in html and "<b>brute</b>" not in html
    stamp = re.search(r'<time data-age datetime="[^"]+"\s+title="([^"]+)"', html).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", stamp)


def test_the_preview_shows_why_it_fired_escaped_and_only_to_the_team(analyst_a, analyst_b, team_a):
    rule = CorrelationRuleFactory(name="Evil <script>", description="about <img src=x>")
    alert = raise_alert(team_a, "brute", source__ip="203.0.113.9", user__name="<svg onload=1>")
    Alert.objects.filter(pk=alert.pk).update(rule=rule)
    response = browser_for(analyst_a).get(f"/alerts/{alert.pk}/preview/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Evil &lt;script&gt;" in html and "about &lt;img src=x&gt;" in html
    assert "Detection condition <code>sel</code>" in html
    assert "<dt><code>source.ip</code></dt>" in html and "203.0.113.9" in html
    assert "&lt;svg onload=1&gt;" in html and "<svg" not in html
    assert browser_for(analyst_b).get(f"/alerts/{alert.pk}/preview/").status_code == 404
    assert AuditEntry.objects.filter(action="alert.read", object_id=str(alert.pk)).exists()


def test_grouping_folds_one_rules_alerts_about_one_entity_into_a_row(analyst_a, team_a, team_b):
    rule = CorrelationRuleFactory(name="SSH brute force")
    brute = [raise_alert(team_a, "brute", source__ip="203.0.113.9") for _ in range(3)]
    other_ip = raise_alert(team_a, "brute", source__ip="203.0.113.10")
    Alert.objects.filter(pk__in=[a.pk for a in [*brute, other_ip]]).update(rule=rule)
    raise_alert(team_a, "lonely", "critical", user__name="root")
    theirs = raise_alert(team_b, "brute", source__ip="203.0.113.9")
    Alert.objects.filter(pk=theirs.pk).update(rule=rule)
    client = browser_for(analyst_a)

    flat = client.get("/alerts/?sort=-severity").content.decode()
    assert len(_titles(flat)) == 5
    toggle = re.search(r'<a href="\?([^"]+)" id="group-toggle">Group by rule and entity', flat)
    assert unescape(toggle.group(1)).endswith("&sort=-severity&group=1")
    html = client.get("/alerts/?sort=-severity&group=1").content.decode()
    # three groups: lonely (critical) first, then the two brute-force entities
    leads = re.findall(r'<tr data-id="([^"]+)"[^>]*\n[^>]*class="status-open"\s*>', html)
    assert len(leads) == 3
    assert _titles(html)[0] == "lonely"
    assert "▸ 3 alerts</button> · 3 hits" in html
    members = re.findall(r'data-member-of="([^"]+)" hidden', html)
    assert len(members) == 2 and len(set(members)) == 1  # the 3-group's two other alerts
    assert members[0] == str(brute[-1].pk)  # led by its newest
    assert str(theirs.pk) not in html
    assert '<input type="hidden" name="group" value="1">' in html  # filters keep grouping
    assert re.search(r"<strong>5</strong>\s+alerts match", html)
    # "list them all" is the ungrouped queue of the group's rule and entity
    link = re.search(r'<a href="\?([^"]+)">list them all</a>', html).group(1)
    listed = client.get("/alerts/?" + unescape(link)).content.decode()
    assert sorted(_titles(listed)) == ["brute"] * 3


def test_the_live_catch_up_brings_every_changed_row_in_the_pages_sort(analyst_a, team_a):
    since = timezone.now() - timedelta(seconds=1)
    Alert.objects.bulk_create(
        Alert(title=f"burst {n}", severity=severity("low"), team=team_a, count=n + 1)
        for n in range(QUEUE_PAGE + 5)
    )
    html = (
        browser_for(analyst_a)
        .get("/alerts/rows/", {"status": "open", "sort": "-count", "changed_since": since})
        .content.decode()
    )
    sorts = re.findall(r'<tr data-id="[^"]+" data-sort="(\d+)"', html)
    assert len(sorts) == QUEUE_PAGE + 5 and "data-remove" not in html
    assert [int(s) for s in sorts] == list(range(QUEUE_PAGE + 5, 0, -1))
