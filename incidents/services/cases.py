"""Opening, changing and assigning incidents, and what they hold (alerts, events,
assets, IOCs). Every change lands on the incident's append-only timeline, in the audit
log, and as a nudge to the pages that show the incident."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from socapp.audit import AuditItem, audit_record, audit_record_many, model_changes
from socapp.models import Team
from socapp.text import refuse_nul
from socapp.users import User

from ..choices import (
    CLOSE_REASONS_BY_HAND,
    AlertStatus,
    IncidentPriority,
    IncidentStatus,
    IncidentType,
    TaskStatus,
    TimelineKind,
)
from ..models import (
    Alert,
    CaseTemplate,
    Incident,
    IncidentTask,
    LinkedEvent,
)
from .assignment import require_assignable
from .journal import incident_url, timeline
from .live import notify_user, push_alert
from .observables import carry_from_alert

# The workflow, in order. An incident moves forward (skipping steps is allowed: a false
# positive goes from triage straight to closed), one step back when a step was
# declared too early, and a closed incident may be reopened into triage.
WORKFLOW = [
    IncidentStatus.NEW,
    IncidentStatus.TRIAGE,
    IncidentStatus.CONTAINMENT,
    IncidentStatus.ERADICATION,
    IncidentStatus.RECOVERY,
    IncidentStatus.CLOSED,
]


def allowed_next_statuses(current: str) -> list[str]:
    at = WORKFLOW.index(IncidentStatus(current))
    if current == IncidentStatus.CLOSED:
        return [IncidentStatus.TRIAGE]
    later = WORKFLOW[at + 1 :]
    earlier = [WORKFLOW[at - 1]] if at > 0 else []
    return [*earlier, *later]


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


def _may_open_for(actor: User, team: Team) -> bool:
    return bool(
        actor.is_superuser
        or actor.has_perm("incidents.manage_all_incidents")
        or actor.teams.filter(pk=team.pk).exists()
    )


def _tasks_from_template(incident: Incident, actor: User) -> None:
    template = CaseTemplate.objects.filter(
        incident_type=incident.incident_type, is_active=True
    ).first()
    if template is None:
        return
    IncidentTask.objects.bulk_create(
        IncidentTask(
            incident=incident,
            title=str(task.get("title", ""))[:255],
            description=str(task.get("description", "")),
            position=position,
            from_template=True,
            created_by=actor,
        )
        for position, task in enumerate(template.tasks)
        if task.get("title")
    )
    timeline(
        incident, TimelineKind.TASK_ADDED, actor, template=template.name, tasks=len(template.tasks)
    )


def incident_create(
    *,
    actor: User,
    title: str,
    team: Team,
    description: str = "",
    priority: str = IncidentPriority.MEDIUM,
    tlp: str | None = None,
    incident_type: str = IncidentType.OTHER,
    assigned_to: Any = None,
    alerts: list[Alert] | tuple[Alert, ...] = (),
) -> Incident:
    """Open an incident for ``team``; only its members (or managers) may do that. The
    case template of its type gives it its first tasks."""
    refuse_nul(title=title, description=description)
    if not _may_open_for(actor, team):
        raise PermissionDenied(f"You can only open incidents for your own teams, not {team}.")
    require_assignable(team, assigned_to, field="assigned_to")
    with transaction.atomic():
        incident = Incident(
            number=_next_incident_number(timezone.now().year),
            title=title,
            team=team,
            description=description,
            priority=priority,
            incident_type=incident_type,
            assigned_to=assigned_to,
            created_by=actor,
        )
        if tlp:
            incident.tlp = tlp
        incident.full_clean()
        incident.save()
        timeline(incident, TimelineKind.CREATED, actor, title=title, priority=priority)
        if assigned_to is not None:
            timeline(incident, TimelineKind.ASSIGNED, actor, assignee=assigned_to.username)
            _notify_assignee(incident, assigned_to, actor)
        _tasks_from_template(incident, actor)
        _link_alerts(incident, list(alerts), actor)
        audit_record(
            actor=actor,
            action="incident.create",
            target=incident,
            changes={"team": team.name, "priority": priority, "type": incident_type},
        )
    return incident


def _link_alerts(incident: Incident, alerts: list[Alert], actor: User) -> list[Alert]:
    linked = []
    for alert in alerts:
        if alert.team_id != incident.team_id:
            # Even for managers: the incident's team would read the other team's alert.
            raise ValidationError(
                f"Alert “{alert.title}” belongs to another team than {incident.number}."
            )
        if alert.incident_id == incident.pk:
            continue
        alert.incident = incident
        if alert.status in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED):
            alert.status = AlertStatus.IN_PROGRESS
            if alert.acknowledged_at is None:
                alert.acknowledged_at, alert.acknowledged_by = timezone.now(), actor
        alert.save()
        timeline(incident, TimelineKind.ALERT_LINKED, actor, alert=str(alert.pk), title=alert.title)
        carry_from_alert(incident, alert, actor)
        push_alert("alert.updated", alert)
        linked.append(alert)
    return linked


def incident_escalate(
    *,
    alert: Alert,
    actor: User,
    title: str = "",
    priority: str | None = None,
    incident_type: str = IncidentType.OTHER,
    description: str = "",
) -> Incident:
    """Open a new incident from ``alert`` (its team, a priority from its severity)."""
    if alert.incident is not None:
        raise ValidationError(f"This alert is already part of {alert.incident.number}.")
    priority = priority or _priority_for(alert.severity.name)
    return incident_create(
        actor=actor,
        title=title or alert.title,
        team=alert.team,
        description=description or alert.description,
        priority=priority,
        incident_type=incident_type,
        alerts=[alert],
    )


def incident_escalate_many(*, alerts: list[Alert], actor: User) -> Incident:
    """One new incident holding ``alerts`` (one team's), named after the most severe."""
    if len({a.team_id for a in alerts}) != 1:
        raise ValidationError("Alerts of different teams cannot go into one incident.")
    first = max(alerts, key=lambda a: a.severity.level)
    with transaction.atomic():
        incident = incident_escalate(alert=first, actor=actor)
        incident_add_alerts(
            incident=incident, alerts=[a for a in alerts if a != first], actor=actor
        )
    return incident


def _priority_for(severity: str) -> str:
    return {
        "critical": IncidentPriority.CRITICAL,
        "high": IncidentPriority.HIGH,
        "medium": IncidentPriority.MEDIUM,
    }.get(severity, IncidentPriority.LOW)


def incident_add_alerts(*, incident: Incident, alerts: list[Alert], actor: User) -> list[Alert]:
    """Merge alerts into an existing incident."""
    if incident.status == IncidentStatus.CLOSED:
        raise ValidationError(f"{incident.number} is closed; reopen it first.")
    with transaction.atomic():
        linked = _link_alerts(incident, alerts, actor)
        if linked:
            audit_record(
                actor=actor,
                action="incident.link_alerts",
                target=incident,
                changes={"alerts": [str(a.pk) for a in linked]},
            )
    return linked


EDITABLE_INCIDENT_FIELDS = (
    "title",
    "description",
    "status",
    "priority",
    "tlp",
    "incident_type",
    "resolution",
)
RESOLUTIONS = [value for value, _ in CLOSE_REASONS_BY_HAND]


def _check_status_change(incident: Incident, new_status: str | None) -> None:
    allowed = allowed_next_statuses(incident.status)
    if new_status and new_status != incident.status and new_status not in allowed:
        raise ValidationError(
            {"status": f"From {incident.status} an incident can move to: {', '.join(allowed)}."}
        )


def _check_closing(
    incident: Incident, resolution: str, close_open_tasks: bool
) -> list[IncidentTask]:
    """What closing needs: a resolution (an alert close reason), and no open task unless
    the caller asked to close them too. Returns the open tasks to close."""
    if resolution not in RESOLUTIONS:
        raise ValidationError(
            {
                "resolution": "Closing an incident needs a resolution: one of "
                f"{', '.join(RESOLUTIONS)}."
            }
        )
    open_tasks = list(incident.tasks.filter(status=TaskStatus.OPEN))
    if open_tasks and not close_open_tasks:
        titles = "; ".join(f"“{task.title}”" for task in open_tasks)
        raise ValidationError(
            {
                "tasks": f"{len(open_tasks)} task(s) still open: {titles}. Finish them, or close "
                "them as not needed along with the incident (close_open_tasks)."
            }
        )
    return open_tasks


def _check_resolution_change(incident: Incident, changes: dict[str, Any]) -> None:
    status = changes.get("status") or incident.status
    if changes.get("resolution") and status != IncidentStatus.CLOSED:
        raise ValidationError({"resolution": "A resolution is given when the incident closes."})
    closed = status == IncidentStatus.CLOSED
    if closed and "resolution" in changes and changes["resolution"] not in RESOLUTIONS:
        raise ValidationError({"resolution": f"One of {', '.join(RESOLUTIONS)}."})


def incident_update(
    *, incident: Incident, actor: User, close_open_tasks: bool = False, **changes: Any
) -> Incident:
    """Change an incident's fields or move it along the workflow. Closing needs a
    ``resolution`` (an alert close reason); open tasks refuse it unless
    ``close_open_tasks`` closes them as not needed; the linked alerts that are not closed
    yet close with the incident's resolution. Reopening clears the resolution and leaves
    the alerts closed (reopen them one by one where that is wanted)."""
    refuse_nul(**changes)
    unknown = set(changes) - set(EDITABLE_INCIDENT_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}")
    new_status = changes.get("status")
    _check_status_change(incident, new_status)
    closing = new_status == IncidentStatus.CLOSED and incident.status != IncidentStatus.CLOSED
    open_tasks: list[IncidentTask] = []
    if closing:
        open_tasks = _check_closing(incident, changes.get("resolution") or "", close_open_tasks)
    else:
        _check_resolution_change(incident, changes)
    before = {name: getattr(incident, name) for name in EDITABLE_INCIDENT_FIELDS}
    for name, value in changes.items():
        setattr(incident, name, value)
    if incident.status == IncidentStatus.CLOSED and incident.resolved_at is None:
        incident.resolved_at = timezone.now()
    elif incident.status != IncidentStatus.CLOSED:
        incident.resolved_at = None
        incident.resolution = ""
    incident.full_clean()
    after = {name: getattr(incident, name) for name in EDITABLE_INCIDENT_FIELDS}
    diff = model_changes(before, after)
    with transaction.atomic():
        incident.save()
        _record_update(incident, actor, diff)
        if closing:
            _close_tasks(incident, open_tasks, actor)
            _close_alerts(incident, actor)
    return incident


def _record_update(incident: Incident, actor: User, diff: dict[str, Any]) -> None:
    if "status" in diff:
        timeline(
            incident,
            TimelineKind.STATUS_CHANGED,
            actor,
            old=diff["status"][0],
            new=diff["status"][1],
            resolution=incident.resolution,
        )
    other = {k: v for k, v in diff.items() if k not in ("status", "resolution")}
    if "resolution" in diff and "status" not in diff:
        other["resolution"] = diff["resolution"]
    if other:
        timeline(incident, TimelineKind.UPDATED, actor, changes=other)
    if not diff:
        return
    audit_record(actor=actor, action="incident.update", target=incident, changes=diff)
    if incident.assigned_to_id and incident.assigned_to_id != getattr(actor, "pk", None):
        notify_user(
            incident.assigned_to_id,
            text=f"{incident.number} was changed by {actor}: {', '.join(sorted(diff))}",
            url=incident_url(incident),
            topic="changed",
        )


def _close_tasks(incident: Incident, tasks: list[IncidentTask], actor: User) -> None:
    """The open tasks the closer chose to close with the incident: "not needed"."""
    if not tasks:
        return
    now = timezone.now()
    for task in tasks:
        task.status, task.completed_at, task.completed_by = TaskStatus.SKIPPED, now, actor
    IncidentTask.objects.bulk_update(tasks, ["status", "completed_at", "completed_by"])
    titles = [task.title for task in tasks]
    timeline(
        incident,
        TimelineKind.TASK_UPDATED,
        actor,
        title=", ".join(titles)[:500],
        tasks=len(tasks),
        changes={"status": [TaskStatus.OPEN, TaskStatus.SKIPPED]},
    )
    audit_record(
        actor=actor,
        action="incident.tasks_closed",
        target=incident,
        changes={"tasks": titles, "status": [TaskStatus.OPEN, TaskStatus.SKIPPED]},
    )


def _close_alerts(incident: Incident, actor: User) -> None:
    """Close the incident's alerts that are still open with its resolution: each audited
    and pushed to the queues like a close by hand. Alerts closed before keep their own
    reason."""
    alerts = list(incident.alerts.select_related("severity").exclude(status=AlertStatus.CLOSED))
    if not alerts:
        return
    now = timezone.now()
    audit: list[AuditItem] = []
    for alert in alerts:
        audit.append(
            AuditItem(
                "alert.update",
                alert,
                {
                    "status": [alert.status, AlertStatus.CLOSED],
                    "close_reason": [alert.close_reason, incident.resolution],
                    "incident": incident.number,
                },
            )
        )
        alert.status, alert.close_reason, alert.closed_at = (
            AlertStatus.CLOSED,
            incident.resolution,
            now,
        )
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = now, actor
    Alert.objects.bulk_update(
        alerts, ["status", "close_reason", "closed_at", "acknowledged_at", "acknowledged_by"]
    )
    Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(updated_at=now)
    audit_record_many(actor=actor, items=audit)
    timeline(
        incident,
        TimelineKind.ALERTS_CLOSED,
        actor,
        alerts=len(alerts),
        resolution=incident.resolution,
    )
    for alert in alerts:
        push_alert("alert.updated", alert)


def _notify_assignee(incident: Incident, assignee: Any, actor: User | None) -> None:
    if assignee is None or assignee.pk == getattr(actor, "pk", None):
        return
    notify_user(
        assignee.pk,
        text=f"{incident.number} “{incident.title}” was assigned to you by {actor}.",
        url=incident_url(incident),
        topic="assigned",
    )


def incident_assign(
    *, incident: Incident, assignee: Any, actor: User | None, reason: str = ""
) -> Incident:
    """Give the incident to ``assignee`` (None: to nobody); only someone who may work the
    team's cases (``assignable_users``) can take it. ``actor`` None: socapp itself, which
    says why in ``reason`` (the timeline shows it)."""
    previous = incident.assigned_to
    if previous == assignee:
        return incident
    require_assignable(incident, assignee)
    with transaction.atomic():
        incident.assigned_to = assignee
        incident.save(update_fields=["assigned_to", "updated_at"])
        timeline(
            incident,
            TimelineKind.ASSIGNED,
            actor,
            assignee=assignee.username if assignee else None,
            previous=previous.username if previous else None,
            **({"reason": reason} if reason else {}),
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
        _notify_assignee(incident, assignee, actor)
    return incident


def incident_link_event(
    *, incident: Incident, actor: User, event_id: Any, event_time: Any, summary: str = ""
) -> LinkedEvent:
    with transaction.atomic():
        link, created = LinkedEvent.objects.get_or_create(
            incident=incident,
            event_id=event_id,
            defaults={"event_time": event_time, "summary": summary[:500], "added_by": actor},
        )
        if created:
            timeline(
                incident,
                TimelineKind.EVENT_LINKED,
                actor,
                event=str(event_id),
                summary=summary[:200],
            )
            audit_record(
                actor=actor,
                action="incident.link_event",
                target=incident,
                changes={"event": str(event_id)},
            )
    return link


def incident_link_asset(*, incident: Incident, actor: User, asset: Any) -> None:
    with transaction.atomic():
        if incident.assets.filter(pk=asset.pk).exists():
            return
        incident.assets.add(asset)
        timeline(incident, TimelineKind.ASSET_LINKED, actor, asset=str(asset.pk), name=asset.name)
        audit_record(
            actor=actor,
            action="incident.link_asset",
            target=incident,
            changes={"asset": asset.name},
        )


def incident_link_ioc(*, incident: Incident, actor: User, ioc: Any) -> None:
    with transaction.atomic():
        if incident.iocs.filter(pk=ioc.pk).exists():
            return
        incident.iocs.add(ioc)
        timeline(
            incident,
            TimelineKind.IOC_LINKED,
            actor,
            ioc=str(ioc.pk),
            value=ioc.value,
            type=ioc.ioc_type,
        )
        audit_record(
            actor=actor, action="incident.link_ioc", target=incident, changes={"ioc": ioc.value}
        )
