"""Team membership and roles decide who may work a case (``assignable_users``); when
they shrink, the cases given to people who can no longer work them go back to the queue
(``services.handback.assignments_recheck``). Connected in ``IncidentsConfig.ready``:
team members and roles are changed in the Django admin, which calls no service."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed

from socapp.models import Team

from .choices import IncidentStatus
from .models import Alert, Incident
from .services.handback import OPEN_ALERTS, assignments_recheck


def _holding_open_cases() -> Any:
    """Everyone an open alert or incident is given to (a clear from the team's or the
    role's side does not say whom it removed)."""
    incidents = Incident.objects.exclude(status=IncidentStatus.CLOSED).values("assigned_to")
    alerts = Alert.objects.filter(status__in=OPEN_ALERTS).values("assignee")
    return get_user_model().objects.filter(pk__in=incidents.union(alerts))


def recheck_on_shrink(sender: Any, instance: Any, action: str, pk_set: Any, **kwargs: Any) -> None:
    """After teams or roles were taken away (from either side of the relation), recheck
    the assignments of the users concerned, in the same transaction."""
    user_model = get_user_model()
    if action == "post_remove":
        by_user = isinstance(instance, user_model)
        users = [instance] if by_user else user_model.objects.filter(pk__in=pk_set)
    elif action == "post_clear":
        users = [instance] if isinstance(instance, user_model) else _holding_open_cases()
    else:
        return
    for user in users:
        assignments_recheck(user)


def connect() -> None:
    for through in (Team.members.through, get_user_model().groups.through):
        m2m_changed.connect(recheck_on_shrink, sender=through, dispatch_uid=f"recheck:{through}")
