"""Shapes and validation only; changes go through incidents/services.py."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from intel.services import INDICATOR_KINDS
from socapp.models import Team
from socapp.users import User

from ..choices import (
    CLOSE_REASONS_BY_HAND,
    AlertStatus,
    CloseReason,
    IncidentPriority,
    IncidentType,
    ResponseActionType,
    SettleOutcome,
    TaskStatus,
)
from ..models import (
    Alert,
    AlertMute,
    Connector,
    Evidence,
    Incident,
    IncidentEvent,
    IncidentTask,
    Observable,
    ResponseAction,
    Severity,
)


class AssigneeField(serializers.SlugRelatedField):
    """A username among those who may be given the alert, incident or task: the view
    passes ``assignable_users(...)`` as the serializer's ``assignees`` context (none
    passed: nobody is accepted)."""

    default_error_messages = {
        "does_not_exist": "{value} cannot be assigned: only active members of the team "
        "whose role works its cases, or people who work every team's, can.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "The username of someone who can work the team's cases: an active member of "
            "the team whose role works them, or someone who works every team's.",
        )
        super().__init__(slug_field="username", queryset=User.objects.none(), **kwargs)

    def get_queryset(self) -> QuerySet[User]:
        return self.context.get("assignees", User.objects.none())


class SeveritySerializer(serializers.ModelSerializer):
    class Meta:
        model = Severity
        fields = ["id", "name", "level", "color_code", "description"]


class RuleRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    sigma_id = serializers.UUIDField(allow_null=True)
    name = serializers.CharField()
    title = serializers.CharField(source="name", help_text="The Sigma rule's title.")


class AlertEventSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    event_time = serializers.DateTimeField()


class AlertSerializer(serializers.ModelSerializer):
    severity = serializers.SlugRelatedField(slug_field="name", read_only=True)
    team = serializers.SlugRelatedField(slug_field="name", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    incident = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    rule = RuleRefSerializer(read_only=True, allow_null=True)
    # Declared: a read-only model field loses `blank`, and "" (not closed) is an answer.
    close_reason = serializers.ChoiceField(
        choices=CloseReason.choices, allow_blank=True, read_only=True
    )
    events = serializers.SerializerMethodField(
        help_text="The events behind the alert (the first 100; ``count`` says how many)."
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "title",
            "description",
            "severity",
            "status",
            "close_reason",
            "team",
            "assignee",
            "rule",
            "correlation",
            "incident",
            "group_key",
            "entities",
            "muted_by",
            "count",
            "suppressed_count",
            "events",
            "details",
            "triggered_at",
            "last_seen_at",
            "acknowledged_at",
            "acknowledged_by",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(AlertEventSerializer(many=True))
    def get_events(self, alert: Alert) -> list[dict]:
        correlation = alert.correlation
        if correlation is None:
            return []
        links = correlation.event_links.all()[:100]
        return [{"event_id": link.event_id, "event_time": link.event_time} for link in links]


class AlertTriageSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
    close_reason = serializers.ChoiceField(choices=CloseReason.choices, required=False)
    assignee = AssigneeField(required=False, allow_null=True)
    severity = serializers.SlugRelatedField(
        slug_field="name", queryset=Severity.objects.all(), required=False
    )


class IncidentSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="name", queryset=Team.objects.all())
    assigned_to = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    alerts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    resolution = serializers.ChoiceField(
        choices=CLOSE_REASONS_BY_HAND,
        allow_blank=True,
        read_only=True,
        help_text="Why it was closed (an alert close reason); empty while it is open.",
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "title",
            "description",
            "status",
            "priority",
            "tlp",
            "incident_type",
            "team",
            "assigned_to",
            "created_by",
            "alerts",
            "created_at",
            "updated_at",
            "resolved_at",
            "resolution",
        ]
        read_only_fields = [
            "id",
            "number",
            "assigned_to",
            "created_by",
            "alerts",
            "created_at",
            "updated_at",
            "resolved_at",
        ]


class IncidentUpdateSerializer(serializers.ModelSerializer):
    """Closing (``status: closed``) needs ``resolution``; with open tasks it is refused
    (400, naming them under ``tasks``) unless ``close_open_tasks`` is true, which closes
    them as not needed. The linked alerts still open close with the resolution."""

    resolution = serializers.ChoiceField(
        choices=CLOSE_REASONS_BY_HAND,
        required=False,
        help_text="Required when closing: why (the alert close reasons, one list).",
    )
    close_open_tasks = serializers.BooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text="When closing: close the tasks still open as not needed (else: 400).",
    )

    class Meta:
        model = Incident
        fields = [
            "title",
            "description",
            "status",
            "priority",
            "tlp",
            "incident_type",
            "resolution",
            "close_open_tasks",
        ]
        extra_kwargs = {name: {"required": False} for name in fields}


class IncidentAssignSerializer(serializers.Serializer):
    assignee = AssigneeField(allow_null=True)


class IncidentEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = IncidentEvent
        fields = ["id", "kind", "actor", "data", "created_at"]


class ResponseActionSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    connector = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    performed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = ResponseAction
        fields = [
            "id",
            "incident",
            "action_type",
            "connector",
            "description",
            "status",
            "parameters",
            "requested_by",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "performed_by",
            "performed_at",
            "finished_at",
            "results",
        ]
        read_only_fields = fields


class ActionRequestSerializer(serializers.Serializer):
    """A response action to run on the incident. ``parameters`` holds what it acts on:
    ``ip`` (block_ip), ``user`` (disable_account), ``host`` (isolate_host), and an
    optional ``note`` passed on to the receiver."""

    action_type = serializers.ChoiceField(choices=ResponseActionType.choices)
    connector = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Connector.objects.filter(enabled=True),
        required=False,
        allow_null=True,
        help_text="The connector's name; none for a manual step.",
    )
    parameters = serializers.DictField(child=serializers.CharField(), required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class ActionDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ActionSettleSerializer(serializers.Serializer):
    """Settle an action left running (its worker died) by what you checked by hand."""

    outcome = serializers.ChoiceField(
        choices=SettleOutcome.choices,
        help_text="failed: it did not take effect (or you cannot tell); "
        "succeeded: you verified the effect by hand.",
    )
    note = serializers.CharField(
        max_length=2000, help_text='What you checked, e.g. "firewall shows no block".'
    )


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True)
    body = serializers.CharField(max_length=20000)
    created_at = serializers.DateTimeField(read_only=True)


class IncidentCommentSerializer(CommentSerializer):
    from_alert = serializers.UUIDField(
        source="from_alert_id",
        read_only=True,
        allow_null=True,
        help_text="The alert it was written on, when it came into the incident with it.",
    )


class ObservableSerializer(serializers.ModelSerializer):
    added_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    ioc_type = serializers.SerializerMethodField(help_text="The type of its IOC, if it has one.")

    class Meta:
        model = Observable
        fields = [
            "id",
            "kind",
            "value",
            "source",
            "alert",
            "ioc",
            "ioc_type",
            "description",
            "added_by",
            "added_at",
        ]
        read_only_fields = fields

    def get_ioc_type(self, observable: Observable) -> str | None:
        return observable.ioc.ioc_type if observable.ioc is not None else None


class ObservableAddSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k, k) for k in INDICATOR_KINDS])
    value = serializers.CharField(
        max_length=2048,
        help_text="As typed or pasted (defanged values like 1.2.3[.]4 or hxxp:// are read "
        "too); stored normalized.",
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class TimelineEventSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    event_time = serializers.DateTimeField()
    log_source = serializers.CharField(
        source="source", help_text="The log source's name; empty if not stored."
    )
    event_type = serializers.CharField()
    summary = serializers.CharField()
    alert = serializers.UUIDField(
        source="alert_id", allow_null=True, help_text="The alert it came with (none: by hand)."
    )
    stored = serializers.SerializerMethodField(
        help_text="False when the event aged out or is not visible to the caller."
    )

    def get_stored(self, row: Any) -> bool:
        return row.event is not None


class EventTimelinePageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many events the incident has in all.")
    offset = serializers.IntegerField()
    results = TimelineEventSerializer(many=True)


class AlertMuteSerializer(serializers.ModelSerializer):
    rule = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    team = serializers.SlugRelatedField(slug_field="name", read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = AlertMute
        fields = [
            "id",
            "rule",
            "title",
            "entities",
            "team",
            "reason",
            "created_by",
            "created_at",
            "expires_at",
            "lifted_at",
        ]
        read_only_fields = fields


class MuteRequestSerializer(serializers.Serializer):
    minutes = serializers.IntegerField(
        min_value=1, max_value=90 * 24 * 60, help_text="How long the mute lasts."
    )
    reason = serializers.CharField(max_length=2000)


class EscalateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255, required=False, allow_blank=True)
    priority = serializers.ChoiceField(
        choices=IncidentPriority.choices,
        required=False,
        help_text="Default: from the alert's severity.",
    )
    incident_type = serializers.ChoiceField(choices=IncidentType.choices, default="other")


class LinkAlertsSerializer(serializers.Serializer):
    alerts = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)


class TaskSerializer(serializers.ModelSerializer):
    assignee = AssigneeField(required=False, allow_null=True)
    completed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = IncidentTask
        fields = [
            "id",
            "title",
            "description",
            "status",
            "position",
            "assignee",
            "from_template",
            "created_at",
            "completed_at",
            "completed_by",
        ]
        # A new task is open; `status` changes through PATCH (TaskUpdateSerializer).
        read_only_fields = [
            "status",
            "id",
            "position",
            "from_template",
            "created_at",
            "completed_at",
            "completed_by",
        ]


class TaskUpdateSerializer(serializers.Serializer):
    task = serializers.UUIDField()
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    assignee = AssigneeField(required=False)


class EvidenceSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Evidence
        fields = [
            "id",
            "name",
            "size",
            "sha256",
            "content_type",
            "description",
            "uploaded_by",
            "uploaded_at",
        ]
        read_only_fields = fields


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
