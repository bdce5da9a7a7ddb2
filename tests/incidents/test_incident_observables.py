"""What an alert brings into the incident it joins (its comments and entities), and
observables an analyst adds from the incident page or the API: validated, normalized, and
backed by an IOC found in threat intel or created in the "analyst" source."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from incidents.models import Incident
from incidents.services import alert_comment, incident_add_alerts, incident_escalate
from intel.models import IOC
from socapp.models import AuditEntry
from tests.conftest import client_for
from tests.factories import IOCFactory, ThreatIntelFactory

from .conftest import browser_for, raise_alert

pytestmark = pytest.mark.django_db


def _url(incident: Incident, part: str) -> str:
    return reverse(f"api:incident-{part}", args=[incident.pk])


def _values(rows: list[dict]) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["value"], r["source"]) for r in rows}


def test_escalation_brings_the_alerts_comments_with_author_and_time(analyst_a, manager, team_a):
    alert = raise_alert(team_a, "SSH brute force", source__ip="203.0.113.7")
    first = alert_comment(alert=alert, actor=manager, body="Seen from this range before.")
    first.created_at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    first.save()
    alert_comment(alert=alert, actor=analyst_a, body="<b>not html</b>")
    response = client_for(analyst_a).post(
        reverse("api:alert-escalate", args=[alert.pk]), {}, format="json"
    )
    assert response.status_code == 201
    incident = Incident.objects.get(pk=response.json()["id"])
    comments = client_for(analyst_a).get(_url(incident, "comments")).json()
    assert [(c["author"], c["body"], c["from_alert"]) for c in comments] == [
        ("manager", "Seen from this range before.", str(alert.pk)),
        ("analyst_a", "<b>not html</b>", str(alert.pk)),
    ]
    assert comments[0]["created_at"].startswith("2026-03-01T09:30:00")
    page = browser_for(analyst_a).get(f"/incidents/{incident.number}/").content.decode()
    assert "&lt;b&gt;not html&lt;/b&gt;" in page and "on the alert" in page
    assert "brought 2 comments over from the alert" in page


def test_escalation_makes_the_alerts_entities_observables_once(analyst_a, team_a):
    known = IOCFactory(ioc_type="ipv4", value="203.0.113.7")
    first = raise_alert(
        team_a, "Brute force", source__ip="203.0.113.7", user__name="Root", host__name="web1"
    )
    second = raise_alert(team_a, "Login after failures", source__ip="203.0.113.7")
    alert_comment(alert=second, actor=analyst_a, body="Same address.")
    incident = incident_escalate(alert=first, actor=analyst_a)
    incident_add_alerts(incident=incident, alerts=[second], actor=analyst_a)

    rows = client_for(analyst_a).get(_url(incident, "observables")).json()
    assert _values(rows) == {
        ("ip", "203.0.113.7", "alert"),
        ("user", "root", "alert"),
        ("host", "web1", "alert"),
    }
    by_kind = {r["kind"]: r for r in rows}
    assert by_kind["ip"]["ioc"] == str(known.pk) and by_kind["ip"]["alert"] == str(first.pk)
    assert by_kind["user"]["ioc"] is None  # entities name; they do not make IOCs
    assert not IOC.objects.filter(value__in=["root", "web1"]).exists()
    bodies = [c["body"] for c in client_for(analyst_a).get(_url(incident, "comments")).json()]
    assert bodies == ["Same address."]  # merging an alert brings its comments too


@pytest.mark.parametrize(
    ("kind", "typed", "value", "ioc_type"),
    [
        ("ip", " 198.51.100.23 ", "198.51.100.23", "ipv4"),
        ("ip", "2001:DB8::0:1", "2001:db8::1", "ipv6"),
        ("ip", "198.51.100[.]24", "198.51.100.24", "ipv4"),
        ("domain", "Dyn-Update.Example.NET.", "dyn-update.example.net", "domain"),
        ("domain", "bücher.example", "xn--bcher-kva.example", "domain"),
        ("hash", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e", "md5"),
        ("hash", "a" * 64, "a" * 64, "sha256"),
        ("url", "hxxps://Evil.Example.COM/drop?a=1", "https://evil.example.com/drop?a=1", "url"),
        ("email", "Billing@Example.ORG", "Billing@example.org", "email"),
        ("user", "CORP\\J.Smith", "corp\\j.smith", "user"),
    ],
)
def test_an_analyst_adds_an_observable_and_it_becomes_an_analyst_ioc(
    analyst_a, team_a, kind, typed, value, ioc_type
):
    incident = incident_escalate(alert=raise_alert(team_a, "x"), actor=analyst_a)
    response = client_for(analyst_a).post(
        _url(incident, "observables"), {"kind": kind, "value": typed}, format="json"
    )
    assert response.status_code == 201, response.content
    [row] = [r for r in response.json() if r["source"] == "analyst"]
    assert (row["kind"], row["value"], row["ioc_type"], row["added_by"]) == (
        kind,
        value,
        ioc_type,
        "analyst_a",
    )
    ioc = IOC.objects.get(pk=row["ioc"])
    assert (ioc.intel.source_name, ioc.ioc_type, ioc.value) == ("analyst", ioc_type, value)
    assert incident.iocs.filter(pk=ioc.pk).exists()
    assert AuditEntry.objects.filter(action="ioc.create", object_id=str(ioc.pk)).exists()
    assert AuditEntry.objects.filter(action="incident.add_observable", actor=analyst_a).exists()


def test_a_known_indicator_is_reused_not_created_again(analyst_a, team_a):
    feed = ThreatIntelFactory(source_name="abuse feed")
    known = IOCFactory(intel=feed, ioc_type="domain", value="evil.example.com")
    incident = incident_escalate(alert=raise_alert(team_a, "x"), actor=analyst_a)
    client = client_for(analyst_a)
    added = client.post(
        _url(incident, "observables"), {"kind": "domain", "value": "EVIL.example.com"}
    )
    assert added.status_code == 201
    assert [r["ioc"] for r in added.json()] == [str(known.pk)]
    assert IOC.objects.filter(value="evil.example.com").count() == 1
    again = client.post(
        _url(incident, "observables"), {"kind": "domain", "value": "evil.example.com"}
    )
    assert again.status_code == 400 and "already has" in again.json()["value"][0]


@pytest.mark.parametrize(
    ("kind", "typed", "says"),
    [
        ("ip", "999.1.1.1", "not an IPv4 or IPv6 address"),
        ("domain", "localhost", "not a domain name"),
        ("domain", "-bad-.example", "not a domain name"),
        ("hash", "abc123", "hexadecimal"),
        ("hash", "z" * 32, "hexadecimal"),
        ("url", "javascript:alert(1)", "not a URL"),
        ("email", "not-an-address", "not an e-mail address"),
        ("user", "   ", "may not be blank"),
        ("user", "line\nbreak", "one line"),
    ],
)
def test_bad_values_are_refused_with_a_message(analyst_a, team_a, kind, typed, says):
    incident = incident_escalate(alert=raise_alert(team_a, "x"), actor=analyst_a)
    response = client_for(analyst_a).post(
        _url(incident, "observables"), {"kind": kind, "value": typed}, format="json"
    )
    assert response.status_code == 400
    assert says in " ".join(response.json()["value"])
    assert not IOC.objects.exists()


def test_unknown_kinds_and_strangers_are_refused(analyst_a, analyst_b, auditor, team_a):
    incident = incident_escalate(alert=raise_alert(team_a, "x"), actor=analyst_a)
    url = _url(incident, "observables")
    host = client_for(analyst_a).post(url, {"kind": "host", "value": "web1"}, format="json")
    assert host.status_code == 400 and "kind" in host.json()
    body = {"kind": "ip", "value": "198.51.100.1"}
    assert client_for(analyst_b).post(url, body, format="json").status_code == 404
    assert client_for(auditor).post(url, body, format="json").status_code == 403
    assert client_for(auditor).get(url).status_code == 200
    assert not IOC.objects.exists()


def test_the_incident_page_adds_observables_and_says_what_is_wrong(analyst_a, team_a):
    incident = incident_escalate(alert=raise_alert(team_a, "x"), actor=analyst_a)
    browser = browser_for(analyst_a)
    url = f"/incidents/{incident.number}/observable/"
    bad = browser.post(url, {"kind": "ip", "value": "10.0.0.300"}, follow=True)
    assert bad.status_code == 200 and "is not an IPv4 or IPv6 address" in bad.content.decode()
    good = browser.post(
        url, {"kind": "hash", "value": "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"}, follow=True
    )
    page = good.content.decode()
    assert "Observable added." in page
    assert "<code>da39a3ee5e6b4b0d3255bfef95601890afd80709</code>" in page
    assert "SHA-1 hash" in page
