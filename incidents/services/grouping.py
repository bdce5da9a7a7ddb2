"""The grouping policy: a new alert joins an open incident of its team that already
holds an alert sharing one of its entities, seen within the window, while the incident
has room. Configured by ``INCIDENT_GROUPING`` (keys, window_hours, max_alerts); empty
``keys`` turns it off.

Only entities of the configured kinds count ("ip", "user", "host"), and only within one
team: an incident never pulls in an alert its team could not see.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count

from socapp.audit import AuditItem

from ..choices import IncidentStatus, TimelineKind
from ..models import Alert, Incident, IncidentEvent
from .live import push_incident


def grouping_policy() -> dict[str, Any]:
    policy = {"keys": ["ip", "user", "host"], "window_hours": 24, "max_alerts": 50}
    policy.update(getattr(settings, "INCIDENT_GROUPING", {}) or {})
    return policy


def grouping_entities(alert: Alert, keys: list[str]) -> list[str]:
    return [e for e in alert.entities if e.split(":", 1)[0] in keys]


def incident_for(alert: Alert) -> Incident | None:
    """The open incident ``alert`` should join under the policy, or None."""
    policy = grouping_policy()
    shared = grouping_entities(alert, list(policy["keys"]))
    if not shared:
        return None
    since = alert.triggered_at - timedelta(hours=float(policy["window_hours"]))
    candidates = (
        Alert.objects.filter(
            team_id=alert.team_id,
            incident__isnull=False,
            entities__overlap=shared,
            last_seen_at__gte=since,
        )
        .exclude(incident__status=IncidentStatus.CLOSED)
        .exclude(pk=alert.pk)
        .order_by("-last_seen_at")
        .values_list("incident_id", flat=True)[:20]
    )
    ids = list(dict.fromkeys(candidates))
    if not ids:
        return None
    incidents = {
        i.pk: i for i in Incident.objects.filter(pk__in=ids).annotate(size=Count("alerts"))
    }
    for incident_id in ids:
        if incidents[incident_id].size < int(policy["max_alerts"]):
            return incidents[incident_id]
    return None


def group_into_incident(alert: Alert, audit: list[AuditItem]) -> Incident | None:
    incident = incident_for(alert)
    if incident is None:
        return None
    alert.incident = incident
    alert.save(update_fields=["incident"])
    shared = sorted(set(grouping_entities(alert, grouping_policy()["keys"])))
    IncidentEvent.objects.create(
        incident=incident,
        kind=TimelineKind.ALERT_GROUPED,
        actor=None,
        data={"alert": str(alert.pk), "title": alert.title, "shared": shared},
    )
    audit.append(AuditItem("incident.group_alert", incident, {"alert": str(alert.pk)}))
    push_incident("incident.updated", incident)
    return incident
