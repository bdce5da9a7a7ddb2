"""Who sees which alerts and incidents. Every page, API view and consumer asks here.

- Alerts: the members of the alert's team; everyone with ``view_all_alerts``
  (incident managers, SOC admins, auditors).
- Incidents: the members of the incident's team, its assignee, users or roles granted
  the object permission through django-guardian, and everyone with
  ``view_all_incidents``. Changing one needs ``change_incident`` and, on top,
  ``manage_all_incidents`` or the same team/assignee/object-grant relation.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from .models import (
    Alert,
    Incident,
    IncidentEvent,
    IncidentGroupObjectPermission,
    IncidentUserObjectPermission,
    ResponseAction,
    Severity,
)


def _teams_of(user: Any) -> QuerySet:
    return user.teams.values("pk")


def alerts_visible_to(user: Any) -> QuerySet[Alert]:
    alerts = Alert.objects.select_related(
        "severity", "team", "rule", "assignee", "incident", "acknowledged_by"
    )
    if user.is_superuser or user.has_perm("incidents.view_all_alerts"):
        return alerts
    return alerts.filter(team__in=_teams_of(user))


def _granted_incident_ids(user: Any, codename: str) -> Q:
    by_user = IncidentUserObjectPermission.objects.filter(
        user=user, permission__codename=codename
    ).values("content_object_id")
    by_group = IncidentGroupObjectPermission.objects.filter(
        group__in=user.groups.all(), permission__codename=codename
    ).values("content_object_id")
    return Q(pk__in=by_user) | Q(pk__in=by_group)


def _related_to(user: Any, codename: str) -> Q:
    return Q(team__in=_teams_of(user)) | Q(assigned_to=user) | _granted_incident_ids(user, codename)


def incidents_visible_to(user: Any) -> QuerySet[Incident]:
    incidents = Incident.objects.select_related("team", "assigned_to", "created_by")
    if user.is_superuser or user.has_perm("incidents.view_all_incidents"):
        return incidents
    return incidents.filter(_related_to(user, "view_incident"))


def incident_can_change(user: Any, incident: Incident) -> bool:
    if not user.has_perm("incidents.change_incident"):
        return False
    if user.is_superuser or user.has_perm("incidents.manage_all_incidents"):
        return True
    return Incident.objects.filter(_related_to(user, "change_incident"), pk=incident.pk).exists()


def incident_timeline(incident: Incident) -> QuerySet[IncidentEvent]:
    return incident.timeline.select_related("actor")


def response_actions_visible_to(user: Any) -> QuerySet[ResponseAction]:
    return ResponseAction.objects.select_related("incident", "requested_by", "performed_by").filter(
        incident__in=incidents_visible_to(user).values("pk")
    )


def severities_all() -> QuerySet[Severity]:
    return Severity.objects.all()


def alert_to_fold(
    *, rule_id: Any, group_key: str, mode: str, at: Any, window_seconds: int
) -> Alert | None:
    """The engine's question for suppression: which existing alert of this rule and key
    would a hit at ``at`` fold into? (None: raise a new one.) Called under the caller's
    per-(rule, key) lock, so two workers never both answer "none"."""
    from datetime import timedelta

    alerts = Alert.objects.select_related("severity", "correlation").filter(
        rule_id=rule_id, group_key=group_key
    )
    if mode == "window":
        return (
            alerts.filter(
                triggered_at__lte=at, triggered_at__gt=at - timedelta(seconds=window_seconds)
            )
            .order_by("-triggered_at")
            .first()
        )
    if mode in ("until_closed", "rises"):
        return alerts.exclude(status="closed").order_by("-triggered_at").first()
    return None


def severity_by_name(name: str) -> Severity:
    return Severity.objects.get(name=name)
