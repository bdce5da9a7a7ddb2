"""The rule every assignment obeys: alerts, incidents and tasks go only to people who may
work them (``selectors.assignable_users``); an assignee reads the case and its evidence."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from socapp.models import Team

from ..models import Alert, Incident
from ..selectors import assignable_users


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
