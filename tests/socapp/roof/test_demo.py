"""manage.py bootstrap --demo: a demo day replayed through ingestion and the default rule
pack. What a new user sees on first login is what the product makes of real logs: a few
alerts (one per attacker, not one per line), each with its entities and its source, rule
statistics that show the hits, the incident manager's incident with tasks and a timeline."""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.urls import reverse

from assets.models import VulnerabilityFinding
from correlation.models import CorrelationRule, RuleStats
from events.models import Event, Source
from events.services import source_create
from incidents.models import Alert, Connector, Incident
from intel.models import IOC, IocMatch
from socapp import roles
from socapp.models import Team
from socapp.roof.demo import SOURCES
from socapp.roof.demo.context import FEED_NAME
from socapp.roof.demo.story import STAGING_DOMAIN
from tests.conftest import client_for

ATTACKER = "203.0.113.77"
SCANNERS = {"198.51.100.23", "192.0.2.145"}


@pytest.fixture
def demo(settings, tmp_path) -> str:
    """``bootstrap --demo`` as `make run` runs it; its output (with the logins)."""
    settings.BASE_DIR = tmp_path
    out = StringIO()
    call_command("bootstrap", "--demo", stdout=out)
    return out.getvalue()


def logins(output: str) -> dict[str, str]:
    return dict(re.findall(r"^  (\w+) +(\S+) +\(.+\)$", output, re.MULTILINE))


def by_rule() -> dict[str, list[Alert]]:
    found: dict[str, list[Alert]] = {}
    for alert in Alert.objects.select_related("rule").order_by("triggered_at"):
        assert alert.rule is not None, alert.title  # every demo alert is a rule's
        found.setdefault(alert.rule.sigma_name, []).append(alert)
    return found


@pytest.mark.django_db
def test_the_demo_logins_work_and_include_an_incident_manager(demo, tmp_path):
    creds = logins(demo)
    assert set(creds) == {"admin", "analyst", "manager"}
    assert authenticate(username="admin", password=creds["admin"]).is_superuser
    analyst = authenticate(username="analyst", password=creds["analyst"])
    manager = authenticate(username="manager", password=creds["manager"])
    assert analyst.groups.filter(name=roles.ANALYST).exists()
    assert manager.groups.filter(name=roles.INCIDENT_MANAGER).exists()
    assert not manager.is_superuser and manager.teams.filter(name="SOC").exists()
    assert (tmp_path / "var" / "demo-credentials.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.django_db
def test_a_second_run_prints_the_same_logins_and_duplicates_nothing(demo, settings):
    def counts() -> tuple[int, ...]:
        return tuple(
            model.objects.count() for model in (Event, Alert, Incident, Source, CorrelationRule)
        )

    before = counts()
    out = StringIO()
    call_command("bootstrap", "--demo", stdout=out)
    again = out.getvalue()
    assert "demo data: already present" in again
    assert counts() == before
    assert logins(again) == logins(demo)


@pytest.mark.django_db
def test_the_demo_alerts_are_the_packs_one_per_attacker_with_entities(demo):
    """The engine and the shipped rules made every alert: an SSH brute force per
    brute-forcing address (the attacker's 48 guesses are one alert counting 48), its
    success, each step of the story once, the feed's match and the IDS's CVE."""
    assert not CorrelationRule.objects.exclude(origin__startswith="rulepack/").exists()
    alerts = by_rule()
    assert sorted(alerts) == sorted(
        [
            "socapp_ssh_brute_force",
            "socapp_ssh_brute_force_success",
            "socapp_account_many_hosts",
            "socapp_remote_service_creation",
            "socapp_suspicious_domain",
            "socapp_beaconing",
            "socapp_data_exfiltration",
            "socapp_ioc_match",
            "socapp_ids_cve_alert",
        ]
    )
    brute = alerts["socapp_ssh_brute_force"]
    assert {a.group_key for a in brute} == {f"source.ip={ip}" for ip in SCANNERS | {ATTACKER}}
    assert next(a for a in brute if ATTACKER in a.group_key).count == 48
    assert all(
        len(found) == 1 for name, found in alerts.items() if name != brute[0].rule.sigma_name
    )
    (breach,) = alerts["socapp_ssh_brute_force_success"]
    # The rule says high; the server it broke into is a critical asset (docs/ASSETS.md).
    assert breach.severity.name == "critical" and breach.status == "open"
    assert breach.details["severity_raised"]["from"] == "high"
    for alert in Alert.objects.all():
        assert alert.entities, alert.title
    assert f"ip:{ATTACKER}" in breach.entities
    assert "user:svc-backup" in alerts["socapp_account_many_hosts"][0].entities


@pytest.mark.django_db
def test_demo_alerts_name_the_source_that_logged_their_events(demo):
    expected = {
        "socapp_ssh_brute_force": "bastion-01 sshd",
        "socapp_ssh_brute_force_success": "bastion-01 sshd",
        "socapp_account_many_hosts": "Windows workstations and servers",
        "socapp_remote_service_creation": "Windows workstations and servers",
        "socapp_suspicious_domain": "dns-01 resolver",
        "socapp_beaconing": "ids-01 Suricata",
        "socapp_data_exfiltration": "ids-01 Suricata",
        "socapp_ioc_match": "dns-01 resolver",
        "socapp_ids_cve_alert": "ids-01 Suricata",
    }
    for name, alerts in by_rule().items():
        for alert in alerts:
            assert alert.details["sources"] == [expected[name]], (name, alert.details)


@pytest.mark.django_db
def test_the_partner_feed_names_the_implants_host_and_ingest_matched_it(demo, client):
    """The feed was imported before the replay, so the victim's lookup of the payload
    server matched at ingest: one alert naming the indicator, its feed and the field."""
    feed = IOC.objects.filter(intel__source_name=FEED_NAME)
    assert feed.count() == 3 and set(feed.values_list("tlp", flat=True)) == {"amber", "green"}
    indicator = feed.get(value=STAGING_DOMAIN)
    assert indicator.confidence_score == 0.85 and "T1105" in indicator.attack_techniques
    (match,) = IocMatch.objects.all()
    assert (match.ioc, match.field, match.retro_hunt) == (indicator, "dns.question.name", False)
    (alert,) = by_rule()["socapp_ioc_match"]
    assert alert.details["indicator"]["feed"] == FEED_NAME
    assert alert.details["indicator"]["value"] == STAGING_DOMAIN
    assert alert.details["matched"] == {"field": "dns.question.name", "value": STAGING_DOMAIN}
    assert "ip:10.0.20.37" in alert.entities  # ws-finance-07, the story's victim
    client.force_login(Team.objects.get(name="SOC").members.get(username="analyst"))
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert STAGING_DOMAIN in page and FEED_NAME in page


@pytest.mark.django_db
def test_the_ids_alert_for_a_cve_is_raised_by_the_scans_open_finding(demo, client):
    """Last week's scan found ws-dev-05's browser open to the CVE the IDS signature names:
    the pack's medium alert is high, and the alert page says why."""
    findings = VulnerabilityFinding.objects.filter(status="open")
    assert set(findings.values_list("asset__name", "cve")) == {
        ("ws-dev-05", "CVE-2023-4863"),
        ("bastion-01", "CVE-2023-38408"),
    }
    (alert,) = by_rule()["socapp_ids_cve_alert"]
    assert alert.rule.level == "medium" and alert.severity.name == "high"
    raised = alert.details["severity_raised"]
    assert (raised["from"], raised["to"], raised["cve"]) == ("medium", "high", "CVE-2023-4863")
    reason = "ws-dev-05 has open finding CVE-2023-4863 (CVSS 8.8, Nessus plugin 181289)"
    assert raised["reason"] == reason
    assert alert.details["vulnerabilities"][0]["asset"] == "ws-dev-05"
    client.force_login(Team.objects.get(name="SOC").members.get(username="analyst"))
    assert reason in client.get(f"/alerts/{alert.pk}/").content.decode()


@pytest.mark.django_db
def test_the_pack_rules_statistics_show_the_demo_hits(demo):
    stats = {s.rule.sigma_name: s for s in RuleStats.objects.select_related("rule")}
    assert stats["socapp_ssh_auth_failure"].hits >= 48 + 14 + 23
    assert stats["socapp_ssh_auth_failure"].evaluations > 0
    assert stats["socapp_small_outbound_connection"].hits >= 45
    for name, alerts in by_rule().items():
        assert stats[name].alerts == len(alerts), name


@pytest.mark.django_db
def test_demo_event_types_are_what_live_ingestion_gives_the_same_lines(demo, api):
    """Each demo source's stored lines, sent again through POST /api/v1/ingest/ to a new
    source of the same format, are stored with the same event types."""
    team = Team.objects.get(name="SOC")
    for spec in SOURCES:
        demo_source = Source.objects.get(name=spec.name)
        stored = Event.objects.filter(source=demo_source).order_by("event_time")
        twin, token = source_create(
            name=f"live {spec.name}", log_format=spec.log_format, team=team, actor=None
        )
        json_lines = spec.log_format in ("windows", "suricata", "zeek")
        body = "\n".join(stored.values_list("raw_data", flat=True)) + "\n"
        response = api.generic(
            "POST",
            reverse("api:ingest"),
            body.encode(),
            content_type="application/x-ndjson" if json_lines else "text/plain",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 200, response.content
        assert response.json()["quarantined"] == 0
        live = Event.objects.filter(source=twin)
        demo_types = Counter(stored.values_list("event_type", flat=True))
        assert Counter(live.values_list("event_type", flat=True)) == demo_types, spec.name
        assert len(demo_types) >= 1


@pytest.mark.django_db
def test_the_manager_escalated_the_story_into_an_incident_with_tasks(demo):
    (incident,) = Incident.objects.all()
    assert incident.created_by.username == "manager"
    assert incident.assigned_to.username == "analyst"
    assert incident.incident_type == "intrusion" and incident.tasks.count() >= 3
    assert incident.tasks.filter(assignee__username="analyst").exists()
    linked = set(incident.alerts.values_list("rule__sigma_name", flat=True))
    assert {"socapp_beaconing", "socapp_data_exfiltration"} <= linked
    kinds = set(incident.timeline.values_list("kind", flat=True))
    assert {"created", "alert_linked", "assigned", "commented"} <= kinds
    # The way in is left for the analyst to find in the queue.
    assert "socapp_ssh_brute_force_success" not in linked


@pytest.mark.django_db
def test_an_analyst_finds_the_day_in_search_the_dashboard_and_the_queue(demo):
    analyst = Team.objects.get(name="SOC").members.get(username="analyst")
    client = client_for(analyst)
    found = client.get("/api/v1/events/search/", {"q": f'source.ip:"{ATTACKER}"'}).json()
    assert len(found["results"]) > 48
    figures = client.get("/api/v1/dashboard/", {"hours": 24}).json()
    by_source = {series["name"]: sum(series["counts"]) for series in figures["events_by_source"]}
    assert set(by_source) >= {spec.name for spec in SOURCES}
    assert ATTACKER in {row["value"] for row in figures["top"]["source_ips"]}
    queue = client.get("/api/v1/alerts/", {"status": "open"}).json()
    assert any(
        a["title"] == "SSH brute force followed by a successful login" for a in queue["results"]
    )


@pytest.mark.django_db(transaction=True)  # the action runs after its request commits
def test_the_demo_connector_carries_out_a_response_action(demo):
    from incidents.services import action_request

    action = action_request(
        incident=Incident.objects.get(),
        actor=Team.objects.get(name="SOC").members.get(username="admin"),
        action_type="isolate_host",
        connector=Connector.objects.get(name="demo: echo"),
        parameters={"host": "ws-finance-07"},
    )
    action.refresh_from_db()
    assert action.status == "succeeded"
    assert action.results["stdout"].startswith("demo would act on ws-finance-07 for INC-")


@pytest.mark.django_db
def test_the_analysts_pages_show_the_demo_day(demo, client):
    """First login: the queue shows the entities, the incident its tasks, the attacker's
    entity page and a search its events."""
    client.force_login(Team.objects.get(name="SOC").members.get(username="analyst"))
    incident = Incident.objects.get()

    def page(url: str, **params: str) -> str:
        response = client.get(url, params)
        assert response.status_code == 200, url
        return response.content.decode()

    queue = page("/alerts/")
    assert "SSH brute force followed by a successful login" in queue and ATTACKER in queue
    case = page(f"/incidents/{incident.number}/")
    assert incident.tasks.first().title in case and "cdn-sync.duckdns.org" in case
    assert "bastion-01 sshd" in page(f"/entities/ip/{ATTACKER}/")
    assert "Accepted password for deploy" in page("/events/search/", q=f'source.ip:"{ATTACKER}"')
    assert "bastion-01 sshd" in page("/dashboard/")
