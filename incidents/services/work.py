"""The work inside an incident: comments, tasks and evidence files."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from socapp.audit import audit_record
from socapp.text import refuse_nul
from socapp.users import User

from ..choices import TaskStatus, TimelineKind
from ..models import Evidence, Incident, IncidentComment, IncidentTask
from .assignment import require_assignable
from .cases import timeline


def incident_comment(*, incident: Incident, actor: User, body: str) -> IncidentComment:
    refuse_nul(body=body)
    body = body.strip()
    if not body:
        raise ValidationError({"body": "A comment cannot be empty."})
    with transaction.atomic():
        comment = IncidentComment.objects.create(incident=incident, author=actor, body=body)
        timeline(incident, TimelineKind.COMMENTED, actor, comment=comment.pk, body=body[:500])
        audit_record(
            actor=actor, action="incident.comment", target=incident, changes={"comment": comment.pk}
        )
    return comment


def task_add(
    *, incident: Incident, actor: User, title: str, description: str = "", assignee: Any = None
) -> IncidentTask:
    refuse_nul(title=title, description=description)
    title = title.strip()
    if not title:
        raise ValidationError({"title": "A task needs a title."})
    require_assignable(incident, assignee)
    with transaction.atomic():
        last = incident.tasks.order_by("-position").values_list("position", flat=True).first()
        task = IncidentTask.objects.create(
            incident=incident,
            title=title[:255],
            description=description,
            assignee=assignee,
            position=(last or 0) + 1,
            created_by=actor,
        )
        timeline(incident, TimelineKind.TASK_ADDED, actor, task=str(task.pk), title=task.title)
        audit_record(
            actor=actor, action="incident.task_add", target=incident, changes={"task": task.title}
        )
    return task


def task_update(
    *, task: IncidentTask, actor: User, status: str | None = None, assignee: Any = None
) -> IncidentTask:
    if assignee is not None and assignee != task.assignee:
        require_assignable(task.incident, assignee)
    changes: dict[str, Any] = {}
    if status is not None and status != task.status:
        if status not in TaskStatus.values:
            raise ValidationError({"status": f"Unknown task status {status!r}."})
        changes["status"] = [task.status, status]
        task.status = status
        done = status != TaskStatus.OPEN
        task.completed_at = timezone.now() if done else None
        task.completed_by = actor if done else None
    if assignee is not None and assignee != task.assignee:
        changes["assignee"] = [getattr(task.assignee, "username", None), assignee.username]
        task.assignee = assignee
    if not changes:
        return task
    with transaction.atomic():
        task.save()
        timeline(
            task.incident,
            TimelineKind.TASK_UPDATED,
            actor,
            task=str(task.pk),
            title=task.title,
            changes=changes,
        )
        audit_record(
            actor=actor,
            action="incident.task_update",
            target=task.incident,
            changes={"task": task.title, **changes},
        )
    return task


def evidence_path(evidence: Evidence) -> Path:
    return Path(settings.EVIDENCE_ROOT) / evidence.stored_as


def evidence_open(*, evidence: Evidence, actor: User) -> IO[bytes]:
    """The evidence file for reading, the access audited. FileNotFoundError when the
    file is gone from the store (the row stays: its hash still says what it was)."""
    handle = evidence_path(evidence).open("rb")
    audit_record(
        actor=actor,
        action="incident.evidence_download",
        target=evidence.incident,
        changes={"evidence": evidence.name, "sha256": evidence.sha256},
    )
    return handle


def evidence_add(
    *,
    incident: Incident,
    actor: User,
    name: str,
    content: IO[bytes],
    content_type: str = "",
    description: str = "",
) -> Evidence:
    """Store an evidence file: written in chunks under EVIDENCE_ROOT with a name of our
    own (never the uploader's), hashed as it is written, refused past the size limit."""
    refuse_nul(name=name, content_type=content_type, description=description)
    limit = settings.EVIDENCE_MAX_BYTES
    evidence_id = uuid.uuid4()
    relative = f"{incident.pk}/{evidence_id}"
    target = Path(settings.EVIDENCE_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        with target.open("xb") as out:
            while chunk := content.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise ValidationError(
                        {"file": f"Evidence files are limited to {limit // (1024 * 1024)} MiB."}
                    )
                digest.update(chunk)
                out.write(chunk)
        with transaction.atomic():
            evidence = Evidence.objects.create(
                id=evidence_id,
                incident=incident,
                name=Path(name).name[:255] or "evidence",
                stored_as=relative,
                size=size,
                sha256=digest.hexdigest(),
                content_type=content_type[:100],
                description=description,
                uploaded_by=actor,
            )
            timeline(
                incident,
                TimelineKind.EVIDENCE_ADDED,
                actor,
                evidence=str(evidence.pk),
                name=evidence.name,
                sha256=evidence.sha256,
                size=size,
            )
            audit_record(
                actor=actor,
                action="incident.evidence_add",
                target=incident,
                changes={"name": evidence.name, "sha256": evidence.sha256},
            )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return evidence
