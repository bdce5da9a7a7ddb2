"""Muting similar alerts for a while: the answer to a known-noisy thing that is not
worth a rule change. A mute is owned, has a reason and an expiry, and is audited; the
alerts it catches are still stored (closed, reason "muted"), so nothing is lost."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from socapp.audit import audit_record
from socapp.text import refuse_nul
from socapp.users import User

from ..choices import AlertStatus
from ..models import Alert, AlertMute
from .live import push_alert

MAX_MUTE = timedelta(days=90)


def _similar(mute: AlertMute) -> Q:
    """Alerts a mute covers: same rule (or title, for rule-less alerts), same team, and
    at least the mute's entities."""
    q = Q(team_id=mute.team_id, entities__contains=mute.entities)
    if mute.rule_id:
        return q & Q(rule_id=mute.rule_id)
    return q & Q(rule__isnull=True, title=mute.title)


def mute_for(alert: Alert) -> AlertMute | None:
    """The active mute a newly raised alert falls under, if any."""
    return matching_mute(alert, active_mutes([alert.team_id]).get(alert.team_id, []))


def active_mutes(team_ids: Iterable[Any]) -> dict[Any, list[AlertMute]]:
    """The mutes in force for each of ``team_ids``, newest first (one query for a batch of
    new alerts)."""
    mutes: dict[Any, list[AlertMute]] = {}
    for mute in AlertMute.objects.filter(
        team_id__in=set(team_ids), lifted_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at"):
        mutes.setdefault(mute.team_id, []).append(mute)
    return mutes


def matching_mute(alert: Alert, mutes: list[AlertMute]) -> AlertMute | None:
    """The first of ``mutes`` (its team's, newest first) that covers ``alert``: the same
    rule (or title, for rule-less alerts) and at least the mute's entities."""
    entities = set(alert.entities)
    for mute in mutes:
        same_origin = (
            mute.rule_id == alert.rule_id
            if alert.rule_id
            else mute.rule_id is None and mute.title == alert.title
        )
        if same_origin and set(mute.entities) <= entities:
            return mute
    return None


def alert_mute(*, alert: Alert, actor: User, duration: timedelta, reason: str) -> AlertMute:
    """Mute alerts like ``alert`` (its rule, its entities) for ``duration``; the open
    ones already in the queue are closed with it, so the noise goes at once."""
    refuse_nul(reason=reason)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why these alerts may be muted."})
    if not timedelta(0) < duration <= MAX_MUTE:
        raise ValidationError({"duration": "A mute lasts between a minute and 90 days."})
    now = timezone.now()
    with transaction.atomic():
        mute = AlertMute.objects.create(
            rule_id=alert.rule_id,
            title="" if alert.rule_id else alert.title,
            entities=alert.entities,
            team_id=alert.team_id,
            reason=reason,
            created_by=actor,
            expires_at=now + duration,
        )
        closing = list(
            Alert.objects.select_related("severity")
            .filter(_similar(mute))
            .exclude(status=AlertStatus.CLOSED)
        )
        for each in closing:
            each.status, each.close_reason, each.closed_at = AlertStatus.CLOSED, "muted", now
            each.muted_by = mute
            if each.acknowledged_at is None:
                each.acknowledged_at, each.acknowledged_by = now, actor
            each.save()
            push_alert("alert.updated", each)
        audit_record(
            actor=actor,
            action="alert.mute",
            target=mute,
            changes={
                "rule": str(alert.rule_id or ""),
                "entities": alert.entities,
                "expires_at": mute.expires_at.isoformat(),
                "reason": reason,
                "closed": len(closing),
            },
        )
    return mute


def alert_mute_lift(*, mute: AlertMute, actor: User) -> AlertMute:
    if mute.lifted_at is not None:
        return mute
    with transaction.atomic():
        mute.lifted_at, mute.lifted_by = timezone.now(), actor
        mute.save(update_fields=["lifted_at", "lifted_by"])
        audit_record(actor=actor, action="alert.unmute", target=mute, changes={})
    return mute
