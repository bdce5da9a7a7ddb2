"""Notification routing: new alerts and incident changes go to the connectors whose
rules ask for them, at most ``throttle_max`` per rule and window, so an alert storm
becomes a handful of messages and a count of the rest, not a flooded channel.

``announce`` runs inside the change's transaction and only queues a task after commit;
the task (``send_notifications``) matches the rules and delivers. Each (rule, topic,
subject) is recorded once before it is sent, so a redelivered task never sends twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from correlation.choices import SeverityName

from ..choices import DeliveryStatus, NotificationTopic, TimelineKind
from ..models import Alert, IncidentEvent, NotificationDelivery, NotificationRule
from ..response import Message, deliver
from ..selectors import notification_rules_listening

# Incident timeline entries that are announced, and as what.
TIMELINE_TOPICS: dict[str, NotificationTopic] = {
    TimelineKind.CREATED: NotificationTopic.INCIDENT_OPENED,
    TimelineKind.ASSIGNED: NotificationTopic.INCIDENT_ASSIGNED,
    TimelineKind.STATUS_CHANGED: NotificationTopic.INCIDENT_STATUS,
}
# Severity names in order; an incident's priority names match the upper four.
_RANK = {name: rank for rank, name in enumerate(SeverityName.values)}


@dataclass(frozen=True)
class Subject:
    """What a notification is about, as the rules match it."""

    key: str
    rank: int
    team_id: Any
    rule_id: Any
    message: Message


def absolute_url(path: str) -> str:
    """A link for messages read outside the console (mail, chat, a ticketing system)."""
    site: str = settings.SITE_URL
    return site + path


def announce(topic: str, subject: Alert | IncidentEvent, *, checked: bool = False) -> None:
    """Queue the notifications for ``subject`` once the current transaction commits
    (``checked``: the caller already knows some rule listens to ``topic``)."""
    if not checked and not notification_rules_listening(topic).exists():
        return
    from ..tasks import send_notifications

    key = str(subject.pk)
    transaction.on_commit(lambda: send_notifications.delay(topic, key))


def announce_timeline(entry: IncidentEvent) -> None:
    topic = TIMELINE_TOPICS.get(entry.kind)
    if entry.kind == TimelineKind.ACTION_REQUESTED and entry.data.get("needs_approval"):
        topic = NotificationTopic.ACTION_APPROVAL  # someone must decide: tell the managers
    if topic:
        announce(topic, entry)


def _alert_subject(alert_id: str) -> Subject:
    alert = Alert.objects.select_related("severity", "team", "rule").get(pk=alert_id)
    url = absolute_url(reverse("alerts:detail", args=[alert.pk]))
    headline = f"[{alert.severity.name.upper()}] {alert.title}"
    text = (
        f"{headline}\nTeam: {alert.team}\nRule: {alert.rule or '-'}\n"
        f"Entities: {', '.join(alert.entities) or '-'}\n"
        f"Seen: {alert.triggered_at:%Y-%m-%d %H:%M:%S} UTC\n{url}"
    )
    payload = {
        "event": NotificationTopic.ALERT_RAISED,
        "alert": {
            "id": str(alert.pk),
            "title": alert.title,
            "severity": alert.severity.name,
            "team": str(alert.team),
            "rule": str(alert.rule) if alert.rule else None,
            "entities": alert.entities,
            "triggered_at": alert.triggered_at.isoformat(),
            "url": url,
        },
    }
    message = Message(headline, text, payload, delivery_id=f"alert-{alert.pk}")
    rank = _RANK.get(alert.severity.name, 0)
    return Subject(str(alert.pk), rank, alert.team_id, alert.rule_id, message)


def _incident_subject(topic: str, entry_id: str) -> Subject:
    entry = IncidentEvent.objects.select_related(
        "incident__team", "incident__assigned_to", "actor"
    ).get(pk=entry_id)
    incident = entry.incident
    url = absolute_url(reverse("incidents:detail", args=[incident.number]))
    what = NotificationTopic(topic).label
    headline = (
        f"[{incident.get_priority_display()}] {incident.number} {incident.title}: {what.lower()}"
    )
    change = ", ".join(f"{k}: {v}" for k, v in sorted(entry.data.items()) if v is not None)
    text = (
        f"{headline}\nTeam: {incident.team}\nStatus: {incident.get_status_display()}\n"
        f"Assignee: {incident.assigned_to or '-'}\nBy: {entry.actor or 'socapp'}\n"
        f"{change}\n{url}"
    )
    payload = {
        "event": topic,
        "incident": {
            "number": incident.number,
            "title": incident.title,
            "priority": incident.priority,
            "status": incident.status,
            "team": str(incident.team),
            "assignee": getattr(incident.assigned_to, "username", None),
            "url": url,
        },
        "change": entry.data,
        "by": getattr(entry.actor, "username", None),
    }
    message = Message(headline, text, payload, delivery_id=f"incident-event-{entry.pk}")
    return Subject(str(entry.pk), _RANK.get(incident.priority, 0), incident.team_id, None, message)


def _matching_rules(topic: str, subject: Subject) -> list[NotificationRule]:
    rules = notification_rules_listening(topic).filter(Q(teams=None) | Q(teams=subject.team_id))
    if topic == NotificationTopic.ALERT_RAISED:
        rules = rules.filter(Q(rules=None) | Q(rules=subject.rule_id))
    return [
        rule
        for rule in rules.select_related("connector").distinct()
        if _RANK.get(rule.min_severity, 0) <= subject.rank and rule.connector.enabled
    ]


def _claim(
    rule: NotificationRule, topic: str, subject: Subject
) -> tuple[NotificationDelivery | None, int]:
    """Record the delivery (None if a previous run already did) and decide under the
    rule's row lock whether it may be sent; returns it and how many were held back
    since the rule last sent something."""
    with transaction.atomic():
        NotificationRule.objects.select_for_update().filter(pk=rule.pk).first()
        delivery, created = NotificationDelivery.objects.get_or_create(
            rule=rule, topic=topic, subject=subject.key, defaults={"status": DeliveryStatus.SENDING}
        )
        if not created:
            return None, 0
        recent = rule.deliveries.exclude(pk=delivery.pk).filter(
            created_at__gte=timezone.now() - timedelta(seconds=rule.throttle_window_seconds)
        )
        if (
            recent.filter(status__in=[DeliveryStatus.SENT, DeliveryStatus.SENDING]).count()
            >= rule.throttle_max
        ):
            delivery.status = DeliveryStatus.THROTTLED
            delivery.save(update_fields=["status"])
            return None, 0
        last_sent = (
            rule.deliveries.filter(status=DeliveryStatus.SENT).order_by("-created_at").first()
        )
        held = rule.deliveries.filter(status=DeliveryStatus.THROTTLED)
        if last_sent is not None:
            held = held.filter(created_at__gt=last_sent.created_at)
        return delivery, held.count()


def _with_held_back(message: Message, held: int) -> Message:
    if not held:
        return message
    note = f"\n({held} earlier notification(s) of this rule were held back by throttling.)"
    payload = {**message.payload, "held_back": held}
    return Message(message.subject, message.text + note, payload, message.delivery_id)


def send_notifications(topic: str, subject_key: str) -> list[NotificationDelivery]:
    """Deliver ``topic`` about ``subject_key`` to every matching rule's connector."""
    if topic == NotificationTopic.ALERT_RAISED:
        subject = _alert_subject(subject_key)
    else:
        subject = _incident_subject(topic, subject_key)
    sent = []
    for rule in _matching_rules(topic, subject):
        delivery, held = _claim(rule, topic, subject)
        if delivery is None:
            continue
        outcome = deliver(rule.connector, _with_held_back(subject.message, held))
        delivery.status = DeliveryStatus.SENT if outcome.ok else DeliveryStatus.FAILED
        delivery.detail = {"summary": outcome.summary, **outcome.detail, "held_back": held}
        delivery.save(update_fields=["status", "detail"])
        sent.append(delivery)
    return sent


def severity_rank(name: str) -> int:
    """informational 0 … critical 4; an incident priority ranks as its severity name."""
    return _RANK.get(name, 0)
