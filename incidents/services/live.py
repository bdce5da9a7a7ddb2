"""Nudges to open pages after a change commits (see incidents/consumers.py)."""

from __future__ import annotations

from typing import Any

from socapp.realtime import publish_on_commit

from ..consumers import (
    ALL_ALERTS_GROUP,
    ALL_INCIDENTS_GROUP,
    incident_team_group,
    team_group,
    user_group,
)
from ..models import Alert, Incident, IncidentUserObjectPermission


def push_alert(kind: str, alert: Alert) -> None:
    payload = {
        "kind": kind,
        "id": str(alert.pk),
        "title": alert.title,
        "status": alert.status,
        "severity": alert.severity.name,
        "team": str(alert.team_id),
        "last_seen_at": alert.last_seen_at.isoformat(),
    }
    publish_on_commit(
        [team_group(alert.team_id), ALL_ALERTS_GROUP], {"type": "alert.event", "payload": payload}
    )


def _granted_users(incident: Incident) -> list[Any]:
    return list(
        IncidentUserObjectPermission.objects.filter(content_object=incident)
        .values_list("user_id", flat=True)
        .distinct()
    )


def push_incident(kind: str, incident: Incident) -> None:
    """Tell the incident's page and lists that it changed: its team, everyone who sees
    all incidents, its assignee and the users it was shared with one by one."""
    payload = {
        "kind": kind,
        "id": str(incident.pk),
        "number": incident.number,
        "status": incident.status,
        "team": str(incident.team_id),
    }
    users = {incident.assigned_to_id, *_granted_users(incident)} - {None}
    groups = [incident_team_group(incident.team_id), ALL_INCIDENTS_GROUP]
    groups += [user_group(pk) for pk in users]
    publish_on_commit(groups, {"type": "incident.event", "payload": payload})


def notify_user(user_id: Any, *, text: str, url: str, topic: str) -> None:
    """A message for one person (shown as a toast on whatever page they have open)."""
    payload = {"kind": "notification", "topic": topic, "text": text, "url": url}
    publish_on_commit([user_group(user_id)], {"type": "notification", "payload": payload})
