"""The live alert stream over Channels (Redis channel layer): who hears what."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer
from django.db import connections

from incidents.services import alert_create, alert_update
from socapp.roof.asgi import application
from tests.factories import severity


async def _in_thread(fn):
    """Run blocking ORM code off the event loop, closing the connection it opened."""

    def run():
        try:
            return fn()
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


async def _connect(user):
    communicator = WebsocketCommunicator(
        application, "/ws/alerts/", headers=[(b"origin", b"http://localhost")]
    )
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def _receive_all(communicator, expected: int) -> list:
    """``expected`` messages, then proof that nothing else arrives."""
    messages = [await communicator.receive_json_from(timeout=5) for _ in range(expected)]
    assert await communicator.receive_nothing(timeout=0.5)
    return messages


@pytest.mark.django_db(transaction=True)
def test_team_members_and_managers_hear_their_alerts_only(
    analyst_a, analyst_b, manager, team_a, team_b
):
    async def scenario():
        a, ok_a, _ = await _connect(analyst_a)
        b, ok_b, _ = await _connect(analyst_b)
        m, ok_m, _ = await _connect(manager)
        assert ok_a and ok_b and ok_m
        high = await _in_thread(lambda: severity("high"))
        alert = await _in_thread(
            lambda: alert_create(title="brute force", severity=high, team=team_a)
        )
        heard = {
            "a": await _receive_all(a, 1),
            "b": await _receive_all(b, 0),
            "m": await _receive_all(m, 1),
        }
        for c in (a, b, m):
            await c.disconnect()
        return alert, heard

    alert, heard = async_to_sync(scenario)()
    assert [msg["id"] for msg in heard["a"]] == [str(alert.pk)]
    assert heard["a"][0]["kind"] == "alert.created" and heard["a"][0]["severity"] == "high"
    assert heard["b"] == []
    assert [msg["id"] for msg in heard["m"]] == [str(alert.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_quiet_connection_outlasts_the_channel_layers_blocking_pop(analyst_a, team_a):
    """Quick guard for the idle browser test (tests/incidents/test_live_idle_browser.py):
    with a Redis read timeout no longer than channels_redis's blocking pop, the consumer
    died here with redis.exceptions.TimeoutError."""
    quiet = RedisChannelLayer.brpop_timeout + 2

    async def scenario():
        a, ok, _ = await _connect(analyst_a)
        assert ok
        assert await a.receive_nothing(timeout=quiet, interval=0.5)
        alert = await _in_thread(
            lambda: alert_create(title="after the quiet", severity=severity("low"), team=team_a)
        )
        heard = await _receive_all(a, 1)
        await a.disconnect()
        return alert, heard

    alert, heard = async_to_sync(scenario)()
    assert [msg["id"] for msg in heard] == [str(alert.pk)]


@pytest.mark.django_db(transaction=True)
def test_status_changes_are_pushed(analyst_a, team_a):
    alert = alert_create(title="scan", severity=severity("low"), team=team_a)

    async def scenario():
        a, ok, _ = await _connect(analyst_a)
        assert ok
        await _in_thread(lambda: alert_update(alert=alert, actor=analyst_a, status="acknowledged"))
        heard = await _receive_all(a, 1)
        await a.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    assert [(m["kind"], m["status"]) for m in heard] == [("alert.updated", "acknowledged")]


@pytest.mark.django_db(transaction=True)
def test_users_without_a_role_are_refused(nobody):
    async def scenario():
        communicator, connected, code = await _connect(nobody)
        await communicator.disconnect()  # ends the consumer, as a server would
        return connected, code

    connected, code = async_to_sync(scenario)()
    assert not connected and code == 4403


@pytest.mark.django_db(transaction=True)
def test_a_refused_websocket_is_audited_like_a_403_and_bounded(nobody, soc_admin, settings):
    """A refusal on the live stream is a permission refusal as a 403 is: before, it wrote
    nothing. Who, from where, with what, why; anonymous handshakes are not entries (as
    an anonymous page visit is a redirect to the login, not a refusal)."""
    from django.contrib.auth.models import AnonymousUser

    from socapp.audit_access import audit_flush_suppressed, forget_bounds
    from socapp.models import AuditEntry

    forget_bounds()
    settings.AUDIT_FAILURE_BURST = 3

    async def attempt(user):
        communicator = WebsocketCommunicator(
            application,
            "/ws/live/",
            headers=[(b"origin", b"http://localhost"), (b"user-agent", b"ws-test/1.0")],
        )
        communicator.scope["user"] = user
        communicator.scope["client"] = ("192.0.2.61", 50000)
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert async_to_sync(attempt)(AnonymousUser()) == (False, 4403)
    assert not AuditEntry.objects.filter(action="access.denied").exists()
    assert async_to_sync(attempt)(nobody) == (False, 4403)
    (entry,) = AuditEntry.objects.filter(action="access.denied")
    assert (entry.actor, entry.result) == (nobody, "denied")
    assert (entry.remote_addr, entry.user_agent) == ("192.0.2.61", "ws-test/1.0")
    assert entry.changes == {
        "method": "WEBSOCKET",
        "path": "/ws/live/",
        "reason": "the user has no role",
    }
    settings.OTP_REQUIRED_FOR_ADMINS = True
    assert async_to_sync(attempt)(soc_admin) == (False, 4403)
    owed = AuditEntry.objects.filter(action="access.denied").order_by("seq").last()
    assert owed.actor == soc_admin and "second factor" in owed.changes["reason"]
    for _ in range(10):  # a flood: the burst, then only counted
        async_to_sync(attempt)(nobody)
    assert AuditEntry.objects.filter(action="access.denied").count() == 3
    assert audit_flush_suppressed(now=time.time() + settings.AUDIT_FAILURE_WINDOW_SECONDS) == 1
    forget_bounds()


@pytest.mark.django_db(transaction=True)
def test_an_admin_without_the_required_second_factor_is_refused(soc_admin, settings):
    async def scenario():
        communicator, connected, code = await _connect(soc_admin)
        await communicator.disconnect()  # refused or not: ends the consumer, as a server would
        return connected, code

    assert async_to_sync(scenario)()[0] is True
    settings.OTP_REQUIRED_FOR_ADMINS = True  # and this session has passed no second factor
    assert async_to_sync(scenario)() == (False, 4403)


@pytest.mark.django_db(transaction=True)
def test_assignment_notifies_the_assignee_and_incident_changes_reach_their_viewers(
    analyst_a, analyst_b, manager, team_a
):
    from incidents.services import incident_assign, incident_create

    incident = incident_create(actor=analyst_a, title="case", team=team_a)

    async def scenario():
        a, ok_a, _ = await _connect(analyst_a)
        b, ok_b, _ = await _connect(analyst_b)
        assert ok_a and ok_b
        await _in_thread(
            lambda: incident_assign(incident=incident, assignee=analyst_a, actor=manager)
        )
        heard_a = await _receive_all(a, 2)  # the change (once), the notification
        heard_b = await _receive_all(b, 0)
        for c in (a, b):
            await c.disconnect()
        return heard_a, heard_b

    heard_a, heard_b = async_to_sync(scenario)()
    notices = [m for m in heard_a if m["kind"] == "notification"]
    assert len(notices) == 1 and notices[0]["topic"] == "assigned"
    assert incident.number in notices[0]["text"] and "assigned to you" in notices[0]["text"]
    assert notices[0]["url"] == f"/incidents/{incident.number}/"
    assert [m["kind"] for m in heard_a].count("incident.assigned") == 1
    assert heard_b == []


@pytest.mark.django_db(transaction=True)
def test_each_incident_change_reaches_each_viewer_once(analyst_a, manager, soc_admin, team_a):
    """An assignee in the incident's team, and a manager who sees all incidents and is
    assigned one, are in two of the groups a change goes to; each hears it once."""
    from incidents.services import incident_assign, incident_create, incident_update

    analysts = incident_create(actor=analyst_a, title="analyst's case", team=team_a)
    incident_assign(incident=analysts, assignee=analyst_a, actor=manager)
    managers = incident_create(actor=manager, title="manager's case", team=team_a)
    incident_assign(incident=managers, assignee=manager, actor=manager)

    async def scenario():
        a, ok_a, _ = await _connect(analyst_a)
        m, ok_m, _ = await _connect(manager)
        assert ok_a and ok_m
        for incident in (analysts, managers):
            await _in_thread(
                lambda incident=incident: incident_update(
                    incident=incident, actor=soc_admin, title=f"{incident.title}, renamed"
                )
            )
        # Each: two changes (one per incident) and a notification for its own case.
        heard = {"a": await _receive_all(a, 3), "m": await _receive_all(m, 3)}
        for c in (a, m):
            await c.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    for who, own in (("a", analysts), ("m", managers)):
        changes = Counter(msg["number"] for msg in heard[who] if msg["kind"] == "incident.updated")
        assert changes == {analysts.number: 1, managers.number: 1}, (who, heard[who])
        notices = [msg["url"] for msg in heard[who] if msg["kind"] == "notification"]
        assert notices == [f"/incidents/{own.number}/"], (who, heard[who])
