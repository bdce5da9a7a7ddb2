"""Response actions: requested on an incident, approved where the incident's priority
asks for it, carried out once by a Celery worker through the connector's handler, and
recorded (who, when, parameters, status, result) on the action, the timeline and the
audit log.

Running is at most once: the worker claims an approved action by moving it to
``running`` in one conditional UPDATE, so a redelivered task finds nothing to do. An
action whose worker died while it ran stays ``running`` and is not retried by itself,
because the firewall or directory may already have acted; a person decides: once it has
run longer than ``RESPONSE_STUCK_MINUTES`` an incident manager settles it as failed or
succeeded with what they checked (``action_settle``). Settling and the worker's own finish
are both conditional on ``running``, so exactly one of them decides the status.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from socapp.audit import audit_record
from socapp.text import refuse_nul
from socapp.users import User

from ..choices import ResponseActionStatus as Status
from ..choices import ResponseActionType, TimelineKind
from ..models import Connector, Incident, ResponseAction
from ..response import Message, Outcome, deliver
from ..response.targets import clean_parameters, target_of
from ..selectors import incident_can_change
from .cases import incident_url, timeline
from .live import notify_user
from .notifications import absolute_url, severity_rank


def approval_needed(incident: Incident) -> bool:
    threshold = settings.RESPONSE_APPROVAL_PRIORITY
    if threshold == "none":
        return False
    return severity_rank(incident.priority) >= severity_rank(threshold)


def may_approve(user: User) -> bool:
    return bool(user.is_superuser or user.has_perm("incidents.approve_responseaction"))


def may_settle(user: User) -> bool:
    """Settle an action left running: the incident managers who approve and change them."""
    return may_approve(user) and user.has_perm("incidents.change_responseaction")


def _check_connector(action_type: str, connector: Connector | None) -> None:
    if action_type == ResponseActionType.MANUAL:
        return
    if connector is None:
        raise ValidationError({"connector": "Choose the connector that carries this action out."})
    if not connector.enabled:
        raise ValidationError({"connector": f"{connector.name} is disabled."})
    if action_type not in connector.action_types:
        raise ValidationError(
            {"connector": f"{connector.name} does not carry out {action_type} actions."}
        )


def _enqueue(action: ResponseAction) -> None:
    from ..tasks import run_response_action

    action_id = str(action.pk)
    transaction.on_commit(lambda: run_response_action.delay(action_id))


def action_request(
    *,
    incident: Incident,
    actor: User,
    action_type: str,
    connector: Connector | None = None,
    parameters: dict[str, Any] | None = None,
    description: str = "",
) -> ResponseAction:
    """Record a response action; queue it now, or hold it for an incident manager."""
    if not (
        actor.has_perm("incidents.add_responseaction") and incident_can_change(actor, incident)
    ):
        raise PermissionDenied("You may not start response actions on this incident.")
    if action_type not in ResponseActionType.values:
        raise ValidationError({"action_type": f"Unknown action type {action_type!r}."})
    refuse_nul(parameters=parameters, description=description)
    _check_connector(action_type, connector)
    cleaned = clean_parameters(action_type, parameters or {})
    description = description.strip()
    if action_type == ResponseActionType.MANUAL:
        return _record_manual(incident, actor, cleaned, description)
    held = approval_needed(incident) and not may_approve(actor)
    now = timezone.now()
    with transaction.atomic():
        action = ResponseAction.objects.create(
            incident=incident,
            action_type=action_type,
            connector=connector,
            parameters=cleaned,
            description=description,
            requested_by=actor,
            status=Status.AWAITING_APPROVAL if held else Status.APPROVED,
            # Nobody else decides when no approval is needed or the requester may approve.
            decided_by=None if held else actor,
            decided_at=None if held else now,
        )
        _record(
            action,
            TimelineKind.ACTION_REQUESTED,
            actor,
            "incident.action_request",
            connector=connector.name if connector else None,
            needs_approval=held,
        )
        if not held:
            _enqueue(action)
    return action


def _record(action: ResponseAction, kind: str, actor: User | None, audit: str, **data: Any) -> None:
    base = {
        "action": str(action.pk),
        "type": action.action_type,
        "target": target_of(action.action_type, action.parameters),
        "status": action.status,
    }
    timeline(action.incident, kind, actor, **base, **data)
    audit_record(actor=actor, action=audit, target=action.incident, changes={**base, **data})


def _record_manual(
    incident: Incident, actor: User, parameters: dict[str, str], description: str
) -> ResponseAction:
    """A step someone took by hand, recorded for the case: done when it is written down."""
    if not description:
        raise ValidationError({"description": "Describe what was done."})
    now = timezone.now()
    with transaction.atomic():
        action = ResponseAction.objects.create(
            incident=incident,
            action_type=ResponseActionType.MANUAL,
            parameters=parameters,
            description=description,
            requested_by=actor,
            performed_by=actor,
            performed_at=now,
            finished_at=now,
            status=Status.SUCCEEDED,
            results={"summary": description[:500]},
        )
        _record(
            action,
            TimelineKind.ACTION_FINISHED,
            actor,
            "incident.action_manual",
            summary=description[:500],
        )
    return action


def action_decide(
    *, action: ResponseAction, actor: User, approve: bool, note: str = ""
) -> ResponseAction:
    """An incident manager approves (the action is queued) or rejects a held action."""
    refuse_nul(note=note)
    if not may_approve(actor):
        raise PermissionDenied("Only incident managers may approve response actions.")
    if not incident_can_change(actor, action.incident):
        raise PermissionDenied("You may not change this incident.")
    with transaction.atomic():
        decided = ResponseAction.objects.filter(
            pk=action.pk, status=Status.AWAITING_APPROVAL
        ).update(
            status=Status.APPROVED if approve else Status.REJECTED,
            decided_by=actor,
            decided_at=timezone.now(),
            decision_note=note.strip(),
        )
        if not decided:
            raise ValidationError({"status": "This action is not waiting for approval."})
        action.refresh_from_db()
        _record(
            action,
            TimelineKind.ACTION_DECIDED,
            actor,
            "incident.action_decide",
            approved=approve,
            note=note.strip()[:500],
        )
        if approve:
            _enqueue(action)
    if action.requested_by_id != actor.pk:
        _tell_requester(action, f"{actor} {'approved' if approve else 'rejected'} {action}.")
    return action


def _tell_requester(action: ResponseAction, text: str) -> None:
    if action.requested_by_id:
        notify_user(
            action.requested_by_id, text=text, url=incident_url(action.incident), topic="action"
        )


def _message(action: ResponseAction) -> Message:
    incident = action.incident
    url = absolute_url(incident_url(incident))
    target = target_of(action.action_type, action.parameters)
    subject = f"[socapp] {action.get_action_type_display()} {target} for {incident.number}".replace(
        "  ", " "
    )
    note = action.parameters.get("note") or action.description
    text = f"{subject}\n{incident.title}\nRequested by: {action.requested_by or '-'}\n{note}\n{url}"
    payload = {
        "event": "response_action",
        "action": {
            "id": str(action.pk),
            "type": action.action_type,
            "parameters": action.parameters,
            "description": action.description,
            "requested_by": getattr(action.requested_by, "username", None),
            "approved_by": getattr(action.decided_by, "username", None),
        },
        "incident": {
            "number": incident.number,
            "title": incident.title,
            "priority": incident.priority,
            "team": str(incident.team),
            "url": url,
        },
    }
    arguments = {
        **action.parameters,
        "target": target,  # whichever of ip, user, host the action has
        "incident": incident.number,
        "action_id": str(action.pk),
    }
    return Message(subject, text, payload, delivery_id=f"action-{action.pk}", arguments=arguments)


def _claim(action_id: Any) -> ResponseAction | None:
    claimed = ResponseAction.objects.filter(pk=action_id, status=Status.APPROVED).update(
        status=Status.RUNNING, performed_at=timezone.now()
    )
    if not claimed:
        return None
    return ResponseAction.objects.select_related(
        "incident__team", "connector", "requested_by", "decided_by"
    ).get(pk=action_id)


def action_run(action_id: Any) -> ResponseAction | None:
    """Carry out an approved action once (the worker's task); None if there is nothing
    to run — already run, running elsewhere, rejected or still held."""
    action = _claim(action_id)
    if action is None:
        return None
    outcome = deliver(action.connector, _message(action))
    return _finish(action, outcome)


def _finish(action: ResponseAction, outcome: Outcome) -> ResponseAction:
    """Store the handler's outcome, unless a manager settled the action meanwhile (they
    judged it stuck): then their verdict stands and the late outcome is recorded beside
    it, on the action, the timeline and the audit log."""
    status = Status.SUCCEEDED if outcome.ok else Status.FAILED
    results = {"summary": outcome.summary, **outcome.detail}
    with transaction.atomic():
        finished = ResponseAction.objects.filter(pk=action.pk, status=Status.RUNNING).update(
            status=status,
            results=results,
            performed_by=action.decided_by or action.requested_by,
            finished_at=timezone.now(),
        )
        action.refresh_from_db()
        if finished:
            _record(
                action,
                TimelineKind.ACTION_FINISHED,
                None,
                "incident.action_finished",
                summary=outcome.summary,
            )
        else:
            action.results = {**action.results, "after_settled": {"status": status, **results}}
            action.save(update_fields=["results"])
            _record(
                action,
                TimelineKind.ACTION_FINISHED,
                None,
                "incident.action_finished",
                summary=outcome.summary,
                after_settled=True,
                worker_status=status,
            )
    _tell_requester(action, f"{action}: {action.get_status_display().lower()}")
    return action


SETTLE_NOTE_MAX = 2000


def stuck_since() -> datetime:
    """Actions running since before this may be settled by hand."""
    return timezone.now() - timedelta(minutes=settings.RESPONSE_STUCK_MINUTES)


def action_is_stuck(action: ResponseAction) -> bool:
    return (
        action.status == Status.RUNNING
        and action.performed_at is not None
        and action.performed_at < stuck_since()
    )


def action_settle(
    *, action: ResponseAction, actor: User, succeeded: bool, note: str
) -> ResponseAction:
    """An incident manager settles an action left running (its worker died): failed, or
    succeeded when they verified the effect by hand. ``note`` says what they checked."""
    if not may_settle(actor):
        raise PermissionDenied("Only incident managers may settle response actions.")
    if not incident_can_change(actor, action.incident):
        raise PermissionDenied("You may not change this incident.")
    refuse_nul(note=note)
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Say what you checked, e.g. what the firewall shows."})
    if len(note) > SETTLE_NOTE_MAX:
        raise ValidationError({"note": f"At most {SETTLE_NOTE_MAX} characters."})
    status = Status.SUCCEEDED if succeeded else Status.FAILED
    verdict = "succeeded" if succeeded else "failed"
    now = timezone.now()
    summary = f"Settled by hand as {verdict} by {actor.username}: {note}"
    results = {
        "summary": summary[:500],
        "settled_by": actor.username,
        "settled_at": now.isoformat(),
        "note": note,
    }
    with transaction.atomic():
        # Only while it still runs and has run long enough: a worker finishing at the same
        # moment updates the same row on the same condition, so one of the two wins.
        settled = ResponseAction.objects.filter(
            pk=action.pk, status=Status.RUNNING, performed_at__lt=stuck_since()
        ).update(status=status, results=results, finished_at=now)
        action.refresh_from_db()
        if not settled:
            raise ValidationError({"status": _not_settleable(action)})
        _record(
            action,
            TimelineKind.ACTION_SETTLED,
            actor,
            "incident.action_settle",
            note=note[:500],
        )
    if action.requested_by_id != actor.pk:
        _tell_requester(action, f"{actor} settled {action} as {verdict}.")
    return action


def _not_settleable(action: ResponseAction) -> str:
    if action.status != Status.RUNNING:
        return f"This action is not running (it is {action.get_status_display().lower()})."
    minutes = settings.RESPONSE_STUCK_MINUTES
    if action.performed_at is None:
        return "This action has not started yet."
    ready = timezone.localtime(action.performed_at + timedelta(minutes=minutes))
    return (
        f"This action started less than {minutes} minutes ago (RESPONSE_STUCK_MINUTES); "
        f"its worker may still finish it. It can be settled from {ready:%Y-%m-%d %H:%M %Z}."
    )


def actions_resume(older_than_seconds: int = 60) -> int:
    """Queue approved actions whose task never arrived (the broker was down at commit);
    claiming is atomic, so queuing one twice is harmless."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stuck = ResponseAction.objects.filter(status=Status.APPROVED, decided_at__lt=cutoff)
    from ..tasks import run_response_action

    count = 0
    for action_id in stuck.values_list("pk", flat=True):
        run_response_action.delay(str(action_id))
        count += 1
    return count
