"""An incident's event timeline: the events behind its alerts and those linked by hand,
oldest first, a page at a time with the total, each with a link to where it is shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from correlation.models import CorrelationEvent
from events.services import events_store
from incidents.models import Incident
from incidents.services import incident_escalate_many, incident_link_event
from tests.conftest import client_for
from tests.factories import CorrelationFactory, SourceFactory, event_record

from .conftest import browser_for, raise_alert

pytestmark = pytest.mark.django_db


def _alert_with_events(team, title: str, source, start, seconds: list[int], **fields):
    """An alert whose correlation links stored events at ``start`` + ``seconds``."""
    records = [
        event_record(
            start + timedelta(seconds=s),
            raw_data=f"{title} line {s} <script>",
            **fields,
        )
        for s in seconds
    ]
    ids = events_store(source=source, records=records)
    correlation = CorrelationFactory.create()
    CorrelationEvent.objects.bulk_create(
        CorrelationEvent(correlation=correlation, event_id=event_id, event_time=record.event_time)
        for event_id, record in zip(ids, records, strict=True)
    )
    alert = raise_alert(team, title, source__ip="203.0.113.7")
    alert.correlation = correlation
    alert.save(update_fields=["correlation"])
    return alert, ids


@pytest.fixture
def start() -> datetime:
    """Two hours before the test runs (read then, not when the module is collected)."""
    return datetime.now(tz=UTC).replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture
def story(analyst_a, team_a, start):
    sshd = SourceFactory(name="sshd-bastion", team=team_a)
    windows = SourceFactory(name="win-dc1", team=team_a)
    brute, _ = _alert_with_events(team_a, "SSH brute force", sshd, start, [0, 10, 20])
    lateral, lateral_ids = _alert_with_events(
        team_a, "Lateral movement", windows, start, [15, 40], event_type="logon"
    )
    incident = incident_escalate_many(alerts=[brute, lateral], actor=analyst_a)
    # One of the alert's events linked by hand too (shown once), and one event of its own.
    incident_link_event(
        incident=incident,
        actor=analyst_a,
        event_id=lateral_ids[0],
        event_time=start + timedelta(seconds=15),
    )
    [own] = events_store(source=sshd, records=[event_record(start + timedelta(seconds=30))])
    incident_link_event(
        incident=incident,
        actor=analyst_a,
        event_id=own,
        event_time=start + timedelta(seconds=30),
        summary="the successful login",
    )
    return incident, brute, lateral


def _timeline(client, incident: Incident, **params):
    url = reverse("api:incident-event-timeline", args=[incident.pk])
    return client.get(url, params)


def test_the_event_timeline_is_every_event_once_in_time_order(analyst_a, story, start):
    incident, brute, lateral = story
    response = _timeline(client_for(analyst_a), incident)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6 and body["offset"] == 0
    rows = body["results"]
    offsets = [(datetime.fromisoformat(r["event_time"]) - start).seconds for r in rows]
    assert offsets == [0, 10, 15, 20, 30, 40]
    assert [r["log_source"] for r in rows] == [
        "sshd-bastion",
        "sshd-bastion",
        "win-dc1",
        "sshd-bastion",
        "sshd-bastion",
        "win-dc1",
    ]
    assert [r["alert"] for r in rows] == [
        str(brute.pk),
        str(brute.pk),
        str(lateral.pk),
        str(brute.pk),
        None,  # linked by hand only
        str(lateral.pk),
    ]
    assert rows[2]["event_type"] == "logon" and all(r["stored"] for r in rows)
    assert "user root" in rows[0]["summary"] and "192.0.2.10 → 10.0.0.5:22" in rows[0]["summary"]


def test_the_event_timeline_comes_a_page_at_a_time(analyst_a, story):
    incident, _, _ = story
    client = client_for(analyst_a)
    page = _timeline(client, incident, offset=4, limit=3).json()
    assert page["count"] == 6 and len(page["results"]) == 2
    assert page["results"][0]["summary"].startswith("user root")
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}):
        response = _timeline(client, incident, **bad)
        assert response.status_code == 400, bad
        assert set(response.json()) & {"limit", "offset"}


def test_strangers_do_not_see_the_event_timeline(analyst_b, story):
    incident, _, _ = story
    assert _timeline(client_for(analyst_b), incident).status_code == 404


def test_the_incident_page_shows_the_event_timeline_beside_the_audit_timeline(analyst_a, story):
    incident, brute, _ = story
    browser = browser_for(analyst_a)
    page = browser.get(f"/incidents/{incident.number}/").content.decode()
    assert "Event timeline (6 events)" in page and 'aria-label="Timeline"' in page
    assert (
        "SSH brute force line 0 &lt;script&gt;" in page
        and "<script>" not in page.split("Event timeline")[1].split("</section>")[0]
    )
    assert f'href="/alerts/{brute.pk}/#event-' in page
    assert "linked by hand" in page
    later = browser.get(f"/incidents/{incident.number}/", {"events_from": 4}).content.decode()
    assert "Events 5\u20136 of 6" in later and "?events_from=0#event-timeline" in later
    alert_page = browser.get(f"/alerts/{brute.pk}/").content.decode()
    assert 'id="event-' in alert_page
