"""The incident's append-only timeline, and where an incident's page is."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from socapp.users import User

from ..models import Incident, IncidentEvent
from .live import push_incident
from .notifications import announce_timeline


def timeline(incident: Incident, kind: str, actor: User | None, **data: Any) -> IncidentEvent:
    """Append to the timeline and tell the incident's viewers (after commit)."""
    entry = IncidentEvent.objects.create(incident=incident, kind=kind, actor=actor, data=data)
    Incident.objects.filter(pk=incident.pk).update(updated_at=timezone.now())
    push_incident(f"incident.{kind}", incident)
    announce_timeline(entry)
    return entry


def incident_url(incident: Incident) -> str:
    return reverse("incidents:detail", args=[incident.number])
