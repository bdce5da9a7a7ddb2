"""Cases go back to the queue when their assignee may no longer work them (they left
the team, or lost the role that works its cases): being the assignee opens nothing by
itself (``selectors._related_to``), so a case must not wait on someone who cannot read
it. Called by ``incidents.membership`` when team members or roles are taken away."""

from __future__ import annotations

from typing import Any

from ..choices import AlertStatus, IncidentStatus
from ..models import Alert, Incident
from ..selectors import assignable_users
from .alerts import alert_update
from .cases import incident_assign

OPEN_ALERTS = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.IN_PROGRESS)


def assignments_recheck(user: Any) -> int:
    """Unassign the open alerts and incidents given to ``user`` that they may no longer
    work, through the usual assignment services (timeline, audit, live push); the number
    of cases handed back. Closed incidents keep who worked them."""
    handed_back = 0
    incidents = Incident.objects.filter(assigned_to=user).exclude(status=IncidentStatus.CLOSED)
    for incident in incidents.select_related("team", "assigned_to"):
        if not assignable_users(incident).filter(pk=user.pk).exists():
            reason = f"{user.get_username()} no longer works team {incident.team}'s incidents"
            incident_assign(incident=incident, assignee=None, actor=None, reason=reason)
            handed_back += 1
    alerts = Alert.objects.filter(assignee=user, status__in=OPEN_ALERTS).select_related("team")
    for alert in alerts:
        if not assignable_users(alert).filter(pk=user.pk).exists():
            alert_update(alert=alert, actor=None, unassign=True)
            handed_back += 1
    return handed_back
