"""Raising and triaging alerts. Each service takes the acting user explicitly, runs in
one transaction and records the change in the audit log."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.utils import timezone

from correlation.handoff import AlertDetails, FoldedHits, RaisedAlert
from intel.lifecycle import ioc_false_positive
from socapp.audit import AuditItem, audit_record, audit_record_many, model_changes
from socapp.bulk import copy_insert
from socapp.models import Team
from socapp.text import refuse_nul
from socapp.users import User

from ..choices import AlertStatus, CloseReason, NotificationTopic
from ..entities import alert_entities
from ..models import Alert, AlertComment, Severity
from ..selectors import Arrival, alert_arrivals
from .asset_context import apply_asset_context
from .assignment import require_assignable
from .grouping import group_into_incident
from .live import push_alert
from .mutes import active_mutes, matching_mute
from .notifications import announce


def _after_raise(alerts: list[Alert], audit: list[AuditItem]) -> None:
    """New alerts meet the mutes, then the grouping policy, then notification rules —
    what may apply is asked once for the teams of the batch, the mutes read once."""
    arrivals = alert_arrivals({a.team_id for a in alerts})
    nothing = Arrival(False, False, False)
    mutes = active_mutes(t for t, arrival in arrivals.items() if arrival.may_be_muted)
    muted = []
    for alert in alerts:
        arrival = arrivals.get(alert.team_id, nothing)
        mute = matching_mute(alert, mutes.get(alert.team_id, [])) if arrival.may_be_muted else None
        if mute is not None:
            alert.status = AlertStatus.CLOSED
            alert.close_reason = "muted"
            alert.closed_at = timezone.now()
            alert.muted_by = mute
            muted.append(alert)
            audit.append(AuditItem("alert.muted", alert, {"mute": str(mute.pk)}))
            continue
        if arrival.may_be_grouped:  # in order: an alert may join through the one before
            group_into_incident(alert, audit)
        if arrival.is_announced:
            announce(NotificationTopic.ALERT_RAISED, alert, checked=True)
    Alert.objects.bulk_update(muted, ["status", "close_reason", "closed_at", "muted_by"])


def alert_create(
    *,
    title: str,
    severity: Severity,
    team: Team,
    description: str = "",
    details: AlertDetails | None = None,
    rule: Any = None,
    correlation: Any = None,
    group_key: str = "",
    alert_id: uuid.UUID | None = None,
    triggered_at: Any = None,
) -> Alert:
    """Raise an alert by hand or from an integration: the engine's sequence
    (``alerts_raise``) with a fresh id."""
    spec = RaisedAlert(
        alert_id=alert_id or uuid.uuid4(),
        title=title,
        level=severity.name,
        team_id=team.pk,
        triggered_at=triggered_at or timezone.now(),
        details=details or AlertDetails(),
        description=description,
        rule_id=getattr(rule, "pk", rule),
        correlation_id=getattr(correlation, "pk", correlation),
        group_key=group_key,
    )
    audit: list[AuditItem] = []
    with transaction.atomic():
        [alert] = _raise([spec], audit)
        audit_record_many(actor=None, items=audit)
    assert alert is not None  # a fresh id is never taken
    return alert


def alerts_raise(alerts: Sequence[RaisedAlert], *, audit: list[AuditItem]) -> list[bool]:
    """Raise each of the engine's alerts unless it exists (ids are derived from the rule
    and the events, so a replayed batch finds its alert instead of making a second);
    returns, per alert, whether it is new. The audit entries go to ``audit``, for the
    caller to write with its others at the end of its transaction.

    No savepoint: the engine raises an id from one worker at a time (the batch lock and
    the window lock see to it); should two ever race, the loser's batch fails and is
    replayed, and finds the alert."""
    return [alert is not None for alert in _raise(alerts, audit)]


def _raise(specs: Sequence[RaisedAlert], audit: list[AuditItem]) -> list[Alert | None]:
    """The one sequence every new alert goes through, for a whole batch at once: the rows
    (one statement), their audit entries, the mutes, grouping and notifications
    (``_after_raise``), the live pushes. Per spec: its new alert, or None where the alert
    exists (or the spec repeats an id)."""
    ids = [spec.alert_id for spec in specs]
    taken = set(Alert.objects.filter(pk__in=ids).values_list("pk", flat=True))
    severities = {s.name: s for s in Severity.objects.all()}
    made: list[Alert | None] = []
    for spec in specs:
        if spec.alert_id in taken:
            made.append(None)
            continue
        taken.add(spec.alert_id)
        made.append(_alert_row(spec, severities[spec.level]))
    new = [alert for alert in made if alert is not None]
    if not new:
        return made
    apply_asset_context(new, list(severities.values()))
    with transaction.atomic(savepoint=False):
        copy_insert(new)
        for alert in new:
            changes = {"severity": alert.severity.name, "team": str(alert.team_id)}
            if alert.rule_id:
                changes["rule"] = str(alert.rule_id)
            audit.append(AuditItem("alert.create", alert, changes))
        _after_raise(new, audit)
        for alert in new:
            push_alert("alert.created", alert)
    return made


def _alert_row(spec: RaisedAlert, severity: Severity) -> Alert:
    details = dict(spec.details)
    return Alert(
        id=spec.alert_id,
        title=spec.title[:255],
        severity=severity,
        team_id=spec.team_id,
        description=spec.description,
        details=details,
        entities=alert_entities(details),
        rule_id=spec.rule_id,
        correlation_id=spec.correlation_id,
        group_key=spec.group_key[:255],
        triggered_at=spec.triggered_at,
        last_seen_at=spec.triggered_at,
        count=spec.count,
    )


def alerts_fold(folds: Sequence[FoldedHits]) -> None:
    """The engine's further hits of correlations that have their alert (suppression)."""
    for fold in folds:
        alert = Alert.objects.filter(correlation_id=fold.correlation_id).first()
        if alert is not None:
            alert_fold(
                alert=alert,
                hits=fold.hits,
                last_seen_at=fold.last_seen_at,
                suppressed=fold.suppressed,
                sources=fold.sources,
            )


def alert_fold(
    *,
    alert: Alert,
    hits: int,
    last_seen_at: Any,
    suppressed: bool = True,
    sources: Sequence[str] = (),
) -> Alert:
    """Fold ``hits`` further rule hits into ``alert`` (suppression). With ``suppressed``
    false the alert is raised again: it is pushed as updated, so the queue shows it rise
    (the "re-alert when count or severity rises" policy). ``sources``: the names of the
    sources the hits came from; the alert's details name each source once."""
    fields = ["count", "last_seen_at", "updated_at"]
    if _add_sources(alert, sources):
        fields.append("details")
    alert.count += hits
    if last_seen_at > alert.last_seen_at:
        alert.last_seen_at = last_seen_at
    if suppressed:
        alert.suppressed_count += hits
        fields.append("suppressed_count")
    with transaction.atomic():
        alert.save(update_fields=fields)
        if not suppressed:
            push_alert("alert.updated", alert)
    return alert


def _add_sources(alert: Alert, sources: Sequence[str]) -> bool:
    """Add the sources ``alert`` does not name yet to its details; whether any were."""
    known = list(alert.details.get("sources") or [])
    new = sorted(set(sources) - set(known))
    if not new:
        return False
    alert.details = {**alert.details, "sources": sorted(set(known) | set(new))}
    return True


def _alert_state(alert: Alert) -> dict[str, Any]:
    return {
        "status": alert.status,
        "close_reason": alert.close_reason,
        "assignee": alert.assignee.username if alert.assignee else None,
        "severity": alert.severity.name,
    }


def _apply_status(alert: Alert, actor: User | None, status: str, close_reason: str | None) -> None:
    now = timezone.now()
    if status == AlertStatus.CLOSED:
        if not (close_reason or alert.close_reason):
            raise ValidationError({"close_reason": "Closing an alert needs a reason."})
        alert.closed_at = now
    else:
        alert.closed_at = None
        alert.close_reason = ""
    if status != AlertStatus.OPEN and alert.acknowledged_at is None:
        # Acknowledging, or any step past "open", counts as the first response (MTTA).
        alert.acknowledged_at = now
        alert.acknowledged_by = actor
    alert.status = status


def alert_update(
    *,
    alert: Alert,
    actor: User | None,
    status: str | None = None,
    close_reason: str | None = None,
    assignee: Any = None,
    severity: Severity | None = None,
    unassign: bool = False,
) -> Alert:
    """Triage an alert: change its status, assignee or severity (``actor`` None: socapp
    itself, as when an assignee may no longer work the alert).

    Acknowledging records who and when; closing needs a reason.
    """
    if assignee is not None and assignee != alert.assignee:
        require_assignable(alert, assignee)
    before = _alert_state(alert)
    if status is not None and status != alert.status:
        _apply_status(alert, actor, status, close_reason)
    if close_reason is not None and (status or alert.status) == AlertStatus.CLOSED:
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
            push_alert("alert.updated", alert)
        if "close_reason" in changes and _closed_as_false_positive(alert):
            _indicator_false_positive(alert, actor)
    return alert


def _closed_as_false_positive(alert: Alert) -> bool:
    return alert.status == AlertStatus.CLOSED and alert.close_reason == CloseReason.FALSE_POSITIVE


def _indicator_false_positive(alert: Alert, actor: User | None) -> None:
    """An IOC-match alert judged a false positive: the indicator gets the verdict (a
    sighting, then retired or down-scored: INTEL_FALSE_POSITIVE_ACTION)."""
    indicator = (alert.details or {}).get("indicator")
    if not isinstance(indicator, dict) or not indicator.get("id"):
        return
    # an indicator deleted since: nothing is left to retire
    with contextlib.suppress(ObjectDoesNotExist):
        ioc_false_positive(
            actor=actor, ioc_id=indicator["id"], reference=f"alert {alert.pk}", note=alert.title
        )


def alerts_bulk_update(*, alerts: list[Alert], actor: User, **changes: Any) -> int:
    """The queue's bulk actions: the same triage on each alert, all or none."""
    with transaction.atomic():
        for alert in alerts:
            alert_update(alert=alert, actor=actor, **changes)
    return len(alerts)


def alert_comment(*, alert: Alert, actor: User, body: str) -> AlertComment:
    refuse_nul(body=body)
    body = body.strip()
    if not body:
        raise ValidationError({"body": "A comment cannot be empty."})
    with transaction.atomic():
        comment = AlertComment.objects.create(alert=alert, author=actor, body=body)
        Alert.objects.filter(pk=alert.pk).update(updated_at=timezone.now())
        audit_record(actor=actor, action="alert.comment", target=alert, changes={"body": body})
        push_alert("alert.updated", alert)
    return comment
