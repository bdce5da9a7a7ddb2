"""Severities, alerts, incidents, their timeline and the response actions they trigger."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from correlation.choices import SeverityName
from socapp import netguard
from socapp.crypto import EncryptedTextField

from .choices import (
    TLP,
    AlertStatus,
    CloseReason,
    ConnectorKind,
    DeliveryStatus,
    IncidentPriority,
    IncidentStatus,
    IncidentType,
    NotificationTopic,
    ObservableKind,
    ObservableSource,
    ResponseActionStatus,
    ResponseActionType,
    TaskStatus,
    TimelineKind,
)


class Severity(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=20, choices=SeverityName.choices, unique=True)
    level = models.PositiveSmallIntegerField(unique=True, help_text="1 informational … 5 critical")
    color_code = models.CharField(
        max_length=7,
        help_text="#rrggbb, always shown with the name",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use the form #rrggbb.")],
    )
    description = models.TextField(blank=True)

    class Meta:
        db_table = "severities"
        ordering = ["-level"]
        verbose_name_plural = "severities"

    def __str__(self) -> str:
        return self.get_name_display()


class Alert(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    correlation = models.ForeignKey(
        "correlation.Correlation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alerts",
    )
    rule = models.ForeignKey(
        "correlation.CorrelationRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alerts",
    )
    severity = models.ForeignKey(Severity, on_delete=models.PROTECT, related_name="alerts")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    close_reason = models.CharField(max_length=32, choices=CloseReason.choices, blank=True)
    details = models.JSONField(default=dict, blank=True)
    team = models.ForeignKey("socapp.Team", on_delete=models.PROTECT, related_name="alerts")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_alerts",
    )
    incident = models.ForeignKey(
        "Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    group_key = models.CharField(
        max_length=255, blank=True, help_text="The entity values the rule grouped by."
    )
    entities = ArrayField(
        models.CharField(max_length=300),
        default=list,
        blank=True,
        help_text='What the alert is about, as "kind:value" ("ip:10.0.0.5", "user:root", '
        '"host:web1", "asset:<id>"): the queue\'s entity filter, related alerts and '
        "incident grouping all match on it.",
    )
    muted_by = models.ForeignKey(
        "AlertMute",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alerts",
        help_text="The mute that closed this alert as it was raised.",
    )
    count = models.PositiveIntegerField(default=1, help_text="Rule hits folded into this alert.")
    suppressed_count = models.PositiveIntegerField(
        default=0, help_text="Hits folded in by the rule's suppression instead of new alerts."
    )
    triggered_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "alerts"
        ordering = ["-triggered_at"]
        permissions = [("view_all_alerts", "Can view the alerts of every team")]
        indexes = [
            # The alert queue: open alerts, newest first.
            models.Index(fields=["status", "-triggered_at"], name="alerts_queue_idx"),
            # A team's queue.
            models.Index(fields=["team", "status", "-triggered_at"], name="alerts_team_queue_idx"),
            # "since/until" on the last-seen time (API filter, catch-up after reconnect).
            models.Index(fields=["-last_seen_at"], name="alerts_last_seen_idx"),
            # The live catch-up: rows created or changed since the page's cursor.
            models.Index(fields=["-updated_at"], name="alerts_changed_idx"),
            # Ranges over when alerts were raised whatever their status (dashboard, MTTA,
            # the SOC summary).
            models.Index(fields=["-triggered_at"], name="alerts_triggered_idx"),
            # Entity filter, related alerts, incident grouping (array overlap / contains).
            GinIndex(fields=["entities"], name="alerts_entities_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class Incident(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(
        max_length=20, unique=True, editable=False, help_text="INC-<year>-<sequence>"
    )
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=IncidentStatus.choices, default=IncidentStatus.NEW
    )
    priority = models.CharField(
        max_length=20, choices=IncidentPriority.choices, default=IncidentPriority.MEDIUM
    )
    tlp = models.CharField("TLP", max_length=20, choices=TLP.choices, default=TLP.AMBER)
    incident_type = models.CharField(
        max_length=32, choices=IncidentType.choices, default=IncidentType.OTHER
    )
    team = models.ForeignKey("socapp.Team", on_delete=models.PROTECT, related_name="incidents")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_incidents",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    assets = models.ManyToManyField("assets.Asset", related_name="incidents", blank=True)
    iocs = models.ManyToManyField("intel.IOC", related_name="incidents", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(
        max_length=32,
        choices=CloseReason.choices,
        blank=True,
        help_text="Why it was closed: the alert close reasons; its open alerts close with it.",
    )

    class Meta:
        db_table = "incidents"
        ordering = ["-created_at"]
        permissions = [
            ("view_all_incidents", "Can view the incidents of every team"),
            ("manage_all_incidents", "Can change the incidents of every team"),
            ("assign_incident", "Can assign incidents to analysts"),
        ]
        indexes = [
            models.Index(fields=["team", "status"], name="incidents_team_status_idx"),
            models.Index(fields=["assigned_to", "status"], name="incidents_assignee_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class IncidentCounter(models.Model):
    """The last incident number handed out in a year (INC-2026-0042)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "incident_counters"

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class IncidentEvent(models.Model):
    """Append-only timeline of an incident: what happened, who did it, when."""

    id = models.BigAutoField(primary_key=True)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=32, choices=TimelineKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "incident_events"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident.number} {self.kind}"


class ResponseAction(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="response_actions"
    )
    action_type = models.CharField(max_length=32, choices=ResponseActionType.choices)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=ResponseActionStatus.choices, default=ResponseActionStatus.PENDING
    )
    parameters = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    performed_at = models.DateTimeField(null=True, blank=True, help_text="When it started.")
    results = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    connector = models.ForeignKey(
        "Connector",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="actions",
        help_text="Where the action is carried out; none for a manual step.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "response_actions"
        ordering = ["-created_at"]
        permissions = [("approve_responseaction", "Can approve response actions")]

    def __str__(self) -> str:
        return f"{self.get_action_type_display()} for {self.incident.number}"

    @property
    def target(self) -> str:
        """What the action acts on (an IP, an account, a host), or ""."""
        from .response.targets import target_of

        return target_of(self.action_type, self.parameters)


class Comment(models.Model):
    """What alert and incident comments share: who wrote what, when (oldest first)."""

    id = models.BigAutoField(primary_key=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]


class AlertComment(Comment):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="comments")

    class Meta(Comment.Meta):
        db_table = "alert_comments"

    def __str__(self) -> str:
        return f"comment on {self.alert_id}"


class AlertMute(models.Model):
    """ "Mute similar alerts": new alerts of ``rule`` whose entities include all of
    ``entities`` are recorded but closed at once (reason "muted") until ``expires_at``.
    Nothing is dropped: a muted alert is still stored, counted and searchable."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.ForeignKey(
        "correlation.CorrelationRule",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mutes",
    )
    title = models.CharField(
        max_length=255, blank=True, help_text="Matched instead of the rule when there is none."
    )
    entities = ArrayField(models.CharField(max_length=300), default=list, blank=True)
    team = models.ForeignKey("socapp.Team", on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        db_table = "alert_mutes"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["rule", "expires_at"], name="alert_mutes_rule_idx")]

    def __str__(self) -> str:
        return f"mute {self.rule or self.title} {' '.join(self.entities)}"


class LinkedEvent(models.Model):
    """An event attached to an incident as evidence. Events are partitioned, so this
    refers to one by (event_id, event_time) without a database foreign key."""

    id = models.BigAutoField(primary_key=True)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="linked_events")
    event_id = models.UUIDField()
    event_time = models.DateTimeField()
    summary = models.CharField(max_length=500, blank=True, help_text="Kept if the event ages out.")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "incident_linked_events"
        ordering = ["event_time"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "event_id"], name="incident_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.event_id}"


class CaseTemplate(models.Model):
    """The tasks a new incident of ``incident_type`` starts with (editable in the admin)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident_type = models.CharField(max_length=32, choices=IncidentType.choices, unique=True)
    name = models.CharField(max_length=255)
    tasks = models.JSONField(
        default=list, help_text='A list of {"title": ..., "description": ...} in order.'
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "case_templates"
        ordering = ["incident_type"]

    def __str__(self) -> str:
        return self.name


class IncidentTask(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    position = models.PositiveIntegerField(default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incident_tasks",
    )
    from_template = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        db_table = "incident_tasks"
        ordering = ["position", "created_at"]

    def __str__(self) -> str:
        return self.title


class IncidentComment(Comment):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="comments")
    from_alert = models.ForeignKey(
        Alert,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The alert this comment was written on, when it came in with the alert.",
    )

    class Meta(Comment.Meta):
        db_table = "incident_comments"

    def __str__(self) -> str:
        return f"comment on {self.incident_id}"


class Observable(models.Model):
    """Something the incident is about or was seen in it: an address, a domain, a hash,
    an account, a URL, a mailbox, a host. Alert entities arrive with their alert; an
    analyst adds the rest, and each of those finds or creates its IOC in threat intel."""

    id = models.BigAutoField(primary_key=True)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="observables")
    kind = models.CharField(max_length=20, choices=ObservableKind.choices)
    value = models.CharField(max_length=2048, help_text="Normalized (see intel.services).")
    source = models.CharField(max_length=20, choices=ObservableSource.choices)
    alert = models.ForeignKey(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ioc = models.ForeignKey(
        "intel.IOC", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    description = models.TextField(blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "incident_observables"
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "kind", "value"], name="incident_observable_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Evidence(models.Model):
    """A file attached to an incident. Stored under EVIDENCE_ROOT (outside the web root,
    never served as static); the SHA-256 is taken while the upload is written."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="evidence")
    name = models.CharField(max_length=255, help_text="The uploaded file's name, as given.")
    stored_as = models.CharField(max_length=255, editable=False)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "incident_evidence"
        ordering = ["uploaded_at"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return self.name


# django-guardian object permissions on incidents, with direct foreign keys (guardian's
# "performance" guide): joins on a real FK instead of a varchar object_pk.
class Connector(models.Model):
    """A place where response actions and notifications are carried out: a webhook, a
    mailbox or a command on the worker host. Configured by admins; handlers in
    ``incidents/response/`` know how to deliver to each kind."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=ConnectorKind.choices)
    enabled = models.BooleanField(default=True)
    action_types = ArrayField(
        models.CharField(max_length=32, choices=ResponseActionType.choices),
        default=list,
        blank=True,
        help_text="Response actions this connector carries out (none: notifications only).",
    )
    url = models.URLField(blank=True, help_text="Webhook: where to POST.")
    payload_format = models.CharField(
        max_length=10,
        choices=[("socapp", "socapp JSON (signed)"), ("slack", "Slack-compatible JSON")],
        default="socapp",
    )
    secret = EncryptedTextField(
        blank=True, help_text="Webhook: the HMAC-SHA256 signing key (stored encrypted)."
    )
    recipients = ArrayField(
        models.EmailField(), default=list, blank=True, help_text="E-mail: who receives it."
    )
    command = models.JSONField(
        default=list,
        blank=True,
        help_text='Command: the argument list, e.g. ["/usr/local/sbin/block", "{ip}"]. '
        "Placeholders are filled per argument; no shell is involved.",
    )
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "connectors"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.kind == ConnectorKind.WEBHOOK and not self.url:
            raise ValidationError({"url": "A webhook connector needs a URL."})
        if self.kind == ConnectorKind.WEBHOOK:
            # Checked again at every call (socapp.netguard); this tells the admin now.
            try:
                netguard.check_url(self.url)
            except netguard.OutboundRefused as exc:
                raise ValidationError({"url": f"socapp will not call this URL: {exc}"}) from exc
        if self.kind == ConnectorKind.EMAIL and not self.recipients:
            raise ValidationError({"recipients": "An e-mail connector needs recipients."})
        if self.kind == ConnectorKind.COMMAND and not (
            isinstance(self.command, list)
            and self.command
            and all(isinstance(part, str) for part in self.command)
        ):
            raise ValidationError({"command": "A command is a non-empty list of strings."})


class NotificationRule(models.Model):
    """Which alert and incident happenings go to which connector, and how often at most."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    topics = ArrayField(
        models.CharField(max_length=32, choices=NotificationTopic.choices),
        default=list,
        help_text="What is announced: new alerts, new incidents, assignments, status changes.",
    )
    min_severity = models.CharField(
        max_length=20,
        choices=SeverityName.choices,
        default=SeverityName.HIGH,
        help_text="Alerts at or above this severity; incidents at or above this priority.",
    )
    teams = models.ManyToManyField(
        "socapp.Team", blank=True, related_name="+", help_text="None selected: every team."
    )
    rules = models.ManyToManyField(
        "correlation.CorrelationRule",
        blank=True,
        related_name="+",
        help_text="Alerts of these rules only (none selected: every rule).",
    )
    connector = models.ForeignKey(Connector, on_delete=models.PROTECT, related_name="+")
    throttle_max = models.PositiveIntegerField(
        default=10, help_text="At most this many messages per window; the rest are counted."
    )
    throttle_window_seconds = models.PositiveIntegerField(default=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "notification_rules"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NotificationDelivery(models.Model):
    """One notification a rule sent, held back (throttled) or failed to send. The unique
    key makes a redelivered task find its row instead of sending twice."""

    id = models.BigAutoField(primary_key=True)
    rule = models.ForeignKey(NotificationRule, on_delete=models.CASCADE, related_name="deliveries")
    topic = models.CharField(max_length=32, choices=NotificationTopic.choices)
    subject = models.CharField(max_length=100, help_text="What it is about: alert or timeline id.")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "notification_deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "topic", "subject"], name="notification_once_per_subject"
            )
        ]
        indexes = [models.Index(fields=["rule", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.rule} {self.topic} {self.subject}: {self.status}"


class IncidentUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Incident, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        db_table = "incident_user_object_permissions"


class IncidentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Incident, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        db_table = "incident_group_object_permissions"
