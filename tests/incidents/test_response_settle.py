"""Settling a response action left running (its worker died) by hand: an incident
manager says what they checked and whether it failed or took effect, once it has run
longer than RESPONSE_STUCK_MINUTES. Through the API and the incident page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.models import IncidentEvent, ResponseAction
from incidents.response import Outcome
from incidents.services import action_settle
from incidents.services.actions import _finish
from socapp.models import AuditEntry
from tests.conftest import client_for
from tests.factories import ConnectorFactory, IncidentFactory
from tests.incidents.conftest import browser_for

pytestmark = pytest.mark.django_db

CHECKED = "verified on the firewall: not blocked"


@pytest.fixture
def case(team_a):
    return IncidentFactory(team=team_a, priority="high", title="Brute force on web1")


def running(case, requester, approver, minutes: float) -> ResponseAction:
    """A block its worker claimed ``minutes`` ago and never finished."""
    return ResponseAction.objects.create(
        incident=case,
        action_type="block_ip",
        connector=ConnectorFactory.create(name="firewall"),
        parameters={"ip": "203.0.113.9/32"},
        requested_by=requester,
        decided_by=approver,
        decided_at=timezone.now() - timedelta(minutes=minutes + 1),
        status="running",
        performed_at=timezone.now() - timedelta(minutes=minutes),
    )


def settle(user, action, **body):
    return client_for(user).post(
        f"/api/v1/response-actions/{action.pk}/settle/", body, format="json"
    )


def test_a_manager_settles_a_stuck_action_as_failed_over_the_api(analyst_a, manager, case):
    action = running(case, analyst_a, manager, minutes=20)
    response = settle(manager, action, outcome="failed", note=f"  {CHECKED} ")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "failed" and body["finished_at"]
    assert body["results"]["summary"] == f"Settled by hand as failed by manager: {CHECKED}"
    assert body["results"]["settled_by"] == "manager" and body["results"]["note"] == CHECKED

    entry = IncidentEvent.objects.get(incident=case, kind="action_settled")
    assert entry.actor == manager
    assert entry.data["note"] == CHECKED and entry.data["status"] == "failed"
    audit = AuditEntry.objects.get(action="incident.action_settle")
    assert audit.actor == manager and audit.changes["note"] == CHECKED
    # Settled once: a second try is refused with the reason, and nothing changes.
    again = settle(manager, action, outcome="succeeded", note="second thoughts")
    assert again.status_code == 400
    assert "not running (it is failed)" in again.json()["status"][0]
    assert ResponseAction.objects.get(pk=action.pk).status == "failed"


def test_a_manager_settles_a_stuck_action_as_succeeded_on_the_page(analyst_a, manager, case):
    action = running(case, analyst_a, manager, minutes=20)
    page = f"/incidents/{case.number}/"
    boss = browser_for(manager)
    assert "action-settle/" in boss.get(page).content.decode()
    answer = boss.post(
        f"{page}action-settle/",
        {"action": action.pk, "outcome": "succeeded", "note": "fw shows the block since 10:02"},
    )
    assert answer.status_code == 302
    html = boss.get(page).content.decode()
    assert "Settled as succeeded." in html
    assert "Settled by hand as succeeded by manager: fw shows the block since 10:02" in html
    assert "action-settle/" not in html  # nothing left to settle
    assert "left running by its worker, as succeeded" in html  # the timeline
    assert ResponseAction.objects.get(pk=action.pk).status == "succeeded"
    assert AuditEntry.objects.filter(action="incident.action_settle", actor=manager).exists()


def test_an_analyst_may_not_settle(analyst_a, manager, case):
    action = running(case, analyst_a, manager, minutes=20)
    refused = settle(analyst_a, action, outcome="failed", note=CHECKED)
    assert refused.status_code == 403
    page = f"/incidents/{case.number}/"
    analyst = browser_for(analyst_a)
    assert "action-settle/" not in analyst.get(page).content.decode()
    posted = analyst.post(
        f"{page}action-settle/", {"action": action.pk, "outcome": "failed", "note": CHECKED}
    )
    assert posted.status_code == 403
    assert ResponseAction.objects.get(pk=action.pk).status == "running"
    assert not IncidentEvent.objects.filter(kind="action_settled").exists()


def test_another_teams_action_is_not_found_even_with_the_permission(
    analyst_a, analyst_b, manager, case
):
    from django.contrib.auth.models import Permission

    action = running(case, analyst_a, manager, minutes=20)
    analyst_b.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="incidents",
            codename__in=["approve_responseaction", "change_responseaction"],
        )
    )
    assert settle(analyst_b, action, outcome="failed", note=CHECKED).status_code == 404
    assert ResponseAction.objects.get(pk=action.pk).status == "running"


def test_a_fresh_running_action_cannot_be_settled_yet(analyst_a, manager, case, settings):
    action = running(case, analyst_a, manager, minutes=5)  # its worker may still finish
    html = browser_for(manager).get(f"/incidents/{case.number}/").content.decode()
    assert "action-settle/" not in html
    refused = settle(manager, action, outcome="failed", note=CHECKED)
    assert refused.status_code == 400
    reason = refused.json()["status"][0]
    assert "started less than 15 minutes ago (RESPONSE_STUCK_MINUTES)" in reason
    assert "It can be settled from" in reason
    assert ResponseAction.objects.get(pk=action.pk).status == "running"

    settings.RESPONSE_STUCK_MINUTES = 4  # the setting decides when it counts as stuck
    assert settle(manager, action, outcome="failed", note=CHECKED).status_code == 200


@pytest.mark.parametrize("status", ["succeeded", "failed", "approved", "awaiting_approval"])
def test_an_action_that_is_not_running_cannot_be_settled(analyst_a, manager, case, status):
    action = running(case, analyst_a, manager, minutes=60)
    results = {"summary": "answered 200", "http_status": 200}
    ResponseAction.objects.filter(pk=action.pk).update(status=status, results=results)
    refused = settle(manager, action, outcome="failed", note=CHECKED)
    assert refused.status_code == 400
    assert "This action is not running" in refused.json()["status"][0]
    kept = ResponseAction.objects.get(pk=action.pk)
    assert kept.status == status and kept.results == results


def test_the_note_is_required_bounded_and_free_of_nul(analyst_a, manager, case):
    action = running(case, analyst_a, manager, minutes=20)
    assert settle(manager, action, outcome="failed", note="   ").status_code == 400
    assert settle(manager, action, outcome="maybe", note=CHECKED).status_code == 400
    too_long = settle(manager, action, outcome="failed", note="x" * 2001)
    assert too_long.status_code == 400 and "note" in too_long.json()
    with pytest.raises(ValidationError) as refused:
        action_settle(action=action, actor=manager, succeeded=False, note="ok\x00")
    assert "note" in refused.value.message_dict
    assert ResponseAction.objects.get(pk=action.pk).status == "running"
    longest = settle(manager, action, outcome="failed", note="x" * 2000)
    assert longest.status_code == 200
    assert longest.json()["results"]["note"] == "x" * 2000


def test_a_slow_worker_finishing_after_the_settle_does_not_overwrite_it(analyst_a, manager, case):
    action = running(case, analyst_a, manager, minutes=20)
    action_settle(action=action, actor=manager, succeeded=False, note=CHECKED)
    late = ResponseAction.objects.select_related("incident").get(pk=action.pk)
    _finish(late, Outcome(ok=True, summary="answered 200", detail={"http_status": 200}))

    kept = ResponseAction.objects.get(pk=action.pk)
    assert kept.status == "failed" and kept.results["settled_by"] == "manager"
    assert kept.results["after_settled"] == {
        "status": "succeeded",
        "summary": "answered 200",
        "http_status": 200,
    }
    finished = IncidentEvent.objects.get(kind="action_finished")
    assert finished.data["after_settled"] is True
    assert finished.data["worker_status"] == "succeeded"
    html = browser_for(manager).get(f"/incidents/{case.number}/").content.decode()
    assert "finished after it was settled by hand as failed (kept)" in html
