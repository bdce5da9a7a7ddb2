"""Changing alerts and incidents. Each service takes the acting user explicitly, runs in
one transaction, records the change on the incident timeline and in the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from socapp.audit import AuditItem, audit_record, audit_record_many, model_changes
from socapp.models import Team
from socapp.realtime import publish_on_commit

from .choices import AlertStatus, IncidentPriority, IncidentStatus, TimelineKind
from .consumers import ALL_ALERTS_GROUP, team_group
from .models import Alert, Incident, IncidentEvent, Severity

# ---- alerts -------------------------------------------------------------------------


def _push_alert(kind: str, alert: Alert) -> None:
    """Tell live queues about ``alert`` once the transaction commits (ids, not objects)."""
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


def alert_create(
    *,
    title: str,
    severity: Severity,
    team: Team,
    description: str = "",
    details: dict[str, Any] | None = None,
    rule: Any = None,
    correlation: Any = None,
    group_key: str = "",
    alert_id: uuid.UUID | None = None,
    triggered_at: Any = None,
) -> Alert:
    """Raise an alert (the detection engine is the usual caller, acting as the system)."""
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.create(
            id=alert_id or uuid.uuid4(),
            title=title,
            severity=severity,
            team=team,
            description=description,
            details=details or {},
            rule=rule,
            correlation=correlation,
            group_key=group_key,
            triggered_at=triggered_at or now,
            last_seen_at=triggered_at or now,
        )
        audit_record(
            actor=None,
            action="alert.create",
            target=alert,
            changes={"severity": severity.name, "team": team.name},
        )
        _push_alert("alert.created", alert)
    return alert


def alert_raise(
    *,
    alert_id: uuid.UUID,
    title: str,
    severity: Severity,
    team: Any,
    rule: Any,
    correlation: Any,
    group_key: str,
    description: str = "",
    details: dict[str, Any] | None = None,
    triggered_at: Any,
    count: int = 1,
    audit: list[AuditItem] | None = None,
) -> tuple[Alert, bool]:
    """Raise the engine's alert ``alert_id`` unless it exists: ids are derived from the
    rule and the events, so a replayed batch finds its alert instead of making a second.
    Returns (alert, created). ``audit``: collect the audit entry there, for the caller to
    write with its others at the end of its transaction (``audit_record_many``).

    No savepoint: the engine raises an id from one worker at a time (the batch lock and
    the window lock see to it); should two ever race, the loser's batch fails and is
    replayed, and finds the alert."""
    alert = Alert.objects.filter(pk=alert_id).select_related("severity").first()
    if alert is not None:
        return alert, False
    with transaction.atomic(savepoint=False):
        alert = Alert.objects.create(
            id=alert_id,
            title=title[:255],
            severity=severity,
            team_id=getattr(team, "pk", team),
            description=description,
            details=details or {},
            rule=rule,
            correlation=correlation,
            group_key=group_key[:255],
            triggered_at=triggered_at,
            last_seen_at=triggered_at,
            count=count,
        )
        item = AuditItem(
            "alert.create",
            alert,
            {"severity": severity.name, "rule": str(getattr(rule, "pk", ""))},
        )
        if audit is not None:
            audit.append(item)
        else:
            audit_record_many(actor=None, items=[item])
        _push_alert("alert.created", alert)
    return alert, True


def alert_fold(
    *,
    alert: Alert,
    hits: int,
    last_seen_at: Any,
    suppressed: bool = True,
    severity: Severity | None = None,
) -> Alert:
    """Fold ``hits`` further rule hits into ``alert`` (suppression). With ``suppressed``
    false the alert is raised again: it is reopened and pushed as updated, so the queue
    shows it rise (the "re-alert when count or severity rises" policy)."""
    fields = ["count", "last_seen_at", "updated_at"]
    alert.count += hits
    if last_seen_at > alert.last_seen_at:
        alert.last_seen_at = last_seen_at
    if suppressed:
        alert.suppressed_count += hits
        fields.append("suppressed_count")
    if severity is not None and severity.level > alert.severity.level:
        alert.severity = severity
        fields.append("severity")
    with transaction.atomic():
        alert.save(update_fields=fields)
        if not suppressed:
            _push_alert("alert.updated", alert)
    return alert


def _alert_state(alert: Alert) -> dict[str, Any]:
    return {
        "status": alert.status,
        "close_reason": alert.close_reason,
        "assignee": alert.assignee.username if alert.assignee else None,
        "severity": alert.severity.name,
    }


def alert_update(
    *,
    alert: Alert,
    actor: Any,
    status: str | None = None,
    close_reason: str | None = None,
    assignee: Any = None,
    severity: Severity | None = None,
    unassign: bool = False,
) -> Alert:
    """Triage an alert: change its status, assignee or severity.

    Acknowledging records who and when; closing needs a reason.
    """
    before = _alert_state(alert)
    now = timezone.now()
    if status is not None and status != alert.status:
        if status == AlertStatus.CLOSED:
            if not (close_reason or alert.close_reason):
                raise ValidationError({"close_reason": "Closing an alert needs a reason."})
            alert.closed_at = now
        else:
            alert.closed_at = None
            alert.close_reason = ""
        if status == AlertStatus.ACKNOWLEDGED or (
            status != AlertStatus.OPEN and alert.acknowledged_at is None
        ):
            alert.acknowledged_at = alert.acknowledged_at or now
            alert.acknowledged_by = alert.acknowledged_by or actor
        alert.status = status
    if close_reason is not None:
        alert.close_reason = close_reason
    if assignee is not None:
        alert.assignee = assignee
    elif unassign:
        alert.assignee = None
    if severity is not None:
        alert.severity = severity
    with transaction.atomic():
        alert.save()
        changes = model_changes(before, _alert_state(alert))
        if changes:
            audit_record(actor=actor, action="alert.update", target=alert, changes=changes)
            _push_alert("alert.updated", alert)
    return alert


# ---- incidents ----------------------------------------------------------------------


def _next_incident_number(year: int) -> str:
    # One statement, so two incidents opened at once can never get the same number.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO incident_counters (year, last) VALUES (%s, 1)
            ON CONFLICT (year) DO UPDATE SET last = incident_counters.last + 1
            RETURNING last
            """,
            [year],
        )
        (sequence,) = cursor.fetchone()
    return f"INC-{year}-{sequence:04d}"


def _timeline(incident: Incident, kind: str, actor: Any, **data: Any) -> None:
    IncidentEvent.objects.create(incident=incident, kind=kind, actor=actor, data=data)


def incident_create(
    *,
    actor: Any,
    title: str,
    team: Team,
    description: str = "",
    priority: str = IncidentPriority.MEDIUM,
    tlp: str | None = None,
    assigned_to: Any = None,
    alerts: list[Alert] | tuple[Alert, ...] = (),
) -> Incident:
    """Open an incident for ``team``; only its members (or managers) may do that."""
    if not (
        actor.is_superuser
        or actor.has_perm("incidents.manage_all_incidents")
        or actor.teams.filter(pk=team.pk).exists()
    ):
        raise PermissionDenied(f"You can only open incidents for your own teams, not {team}.")
    with transaction.atomic():
        incident = Incident(
            number=_next_incident_number(timezone.now().year),
            title=title,
            team=team,
            description=description,
            priority=priority,
            assigned_to=assigned_to,
            created_by=actor,
        )
        if tlp:
            incident.tlp = tlp
        incident.full_clean()
        incident.save()
        _timeline(incident, TimelineKind.CREATED, actor, title=title, priority=priority)
        if assigned_to is not None:
            _timeline(incident, TimelineKind.ASSIGNED, actor, assignee=assigned_to.username)
        for alert in alerts:
            Alert.objects.filter(pk=alert.pk).update(incident=incident)
            _timeline(
                incident, TimelineKind.ALERT_LINKED, actor, alert=str(alert.pk), title=alert.title
            )
        audit_record(
            actor=actor,
            action="incident.create",
            target=incident,
            changes={"team": team.name, "priority": priority},
        )
    return incident


EDITABLE_INCIDENT_FIELDS = ("title", "description", "status", "priority", "tlp")


def incident_update(*, incident: Incident, actor: Any, **changes: Any) -> Incident:
    unknown = set(changes) - set(EDITABLE_INCIDENT_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}")
    before = {name: getattr(incident, name) for name in EDITABLE_INCIDENT_FIELDS}
    for name, value in changes.items():
        setattr(incident, name, value)
    if incident.status == IncidentStatus.CLOSED and incident.resolved_at is None:
        incident.resolved_at = timezone.now()
    elif incident.status != IncidentStatus.CLOSED:
        incident.resolved_at = None
    incident.full_clean()
    after = {name: getattr(incident, name) for name in EDITABLE_INCIDENT_FIELDS}
    diff = model_changes(before, after)
    with transaction.atomic():
        incident.save()
        if "status" in diff:
            _timeline(
                incident,
                TimelineKind.STATUS_CHANGED,
                actor,
                old=diff["status"][0],
                new=diff["status"][1],
            )
        other = {k: v for k, v in diff.items() if k != "status"}
        if other:
            _timeline(incident, TimelineKind.UPDATED, actor, changes=other)
        if diff:
            audit_record(actor=actor, action="incident.update", target=incident, changes=diff)
    return incident


def incident_assign(*, incident: Incident, assignee: Any, actor: Any) -> Incident:
    previous = incident.assigned_to
    if previous == assignee:
        return incident
    with transaction.atomic():
        incident.assigned_to = assignee
        incident.save(update_fields=["assigned_to", "updated_at"])
        _timeline(
            incident,
            TimelineKind.ASSIGNED,
            actor,
            assignee=assignee.username if assignee else None,
            previous=previous.username if previous else None,
        )
        audit_record(
            actor=actor,
            action="incident.assign",
            target=incident,
            changes={
                "assigned_to": [
                    previous.username if previous else None,
                    assignee.username if assignee else None,
                ]
            },
        )
    return incident
