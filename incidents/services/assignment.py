"""The rule every assignment obeys: alerts, incidents and tasks go only to people who may
work them (``selectors.assignable_users``); an assignee reads the case and its evidence."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from socapp.audit import audit_record
from socapp.models import Team

from ..choices import AlertStatus, IncidentStatus, TimelineKind
from ..models import Alert, Incident
from ..selectors import assignable_users
from .journal import timeline


def require_assignable(
    target: Alert | Incident | Team, assignee: Any, field: str = "assignee"
) -> None:
    """Refuse (ValidationError on ``field``) an assignee who could not work ``target``."""
    if assignee is None or assignable_users(target).filter(pk=assignee.pk).exists():
        return
    team = target if isinstance(target, Team) else target.team
    kind = "alerts" if isinstance(target, Alert) else "incidents"
    raise ValidationError(
        {
            field: f"{assignee.get_username()} cannot be assigned: {kind} of team {team} go "
            f"only to active members of that team whose role works {kind}, or to people "
            "who work every team's."
        }
    )


OPEN_ALERTS = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.IN_PROGRESS)


def assignments_recheck(user: Any) -> int:
    """Open alerts and incidents given to ``user`` that they may no longer work (they
    left the team, or lost the role that works its cases) go back to the team's queue,
    each with a timeline entry (incidents) and an audit entry: they no longer read them
    (``selectors._related_to``), so the case must not wait on them. Called when team
    membership or roles change; the number of cases handed back."""
    handed_back = 0
    incidents = Incident.objects.filter(assigned_to=user).exclude(status=IncidentStatus.CLOSED)
    for incident in incidents.select_related("team"):
        if assignable_users(incident).filter(pk=user.pk).exists():
            continue
        reason = f"{user.get_username()} no longer works team {incident.team}'s incidents"
        with transaction.atomic():
            incident.assigned_to = None
            incident.save(update_fields=["assigned_to", "updated_at"])
            timeline(
                incident,
                TimelineKind.ASSIGNED,
                None,
                assignee=None,
                previous=user.get_username(),
                reason=reason,
            )
            audit_record(
                actor=None,
                action="incident.assign",
                target=incident,
                changes={"assigned_to": [user.get_username(), None]},
            )
        handed_back += 1
    alerts = Alert.objects.filter(assignee=user, status__in=OPEN_ALERTS).select_related("team")
    for alert in alerts:
        if assignable_users(alert).filter(pk=user.pk).exists():
            continue
        with transaction.atomic():
            alert.assignee = None
            alert.save(update_fields=["assignee", "updated_at"])
            audit_record(
                actor=None,
                action="alert.update",
                target=alert,
                changes={"assignee": [user.get_username(), None]},
            )
        handed_back += 1
    return handed_back
