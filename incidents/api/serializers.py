"""Shapes and validation only; changes go through incidents/services.py."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from socapp.models import Team

from ..choices import AlertStatus, CloseReason
from ..models import Alert, Incident, IncidentEvent, ResponseAction, Severity

User = get_user_model()


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
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    incident = serializers.SlugRelatedField(slug_field="number", read_only=True)
    rule = RuleRefSerializer(read_only=True, allow_null=True)
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
        if alert.correlation_id is None:
            return []
        links = alert.correlation.event_links.all()[:100]
        return [{"event_id": link.event_id, "event_time": link.event_time} for link in links]


class AlertTriageSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
    close_reason = serializers.ChoiceField(choices=CloseReason.choices, required=False)
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    severity = serializers.SlugRelatedField(
        slug_field="name", queryset=Severity.objects.all(), required=False
    )


class IncidentSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="name", queryset=Team.objects.all())
    assigned_to = serializers.SlugRelatedField(slug_field="username", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    alerts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

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
            "team",
            "assigned_to",
            "created_by",
            "alerts",
            "created_at",
            "updated_at",
            "resolved_at",
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
    class Meta:
        model = Incident
        fields = ["title", "description", "status", "priority", "tlp"]
        extra_kwargs = {name: {"required": False} for name in fields}


class IncidentAssignSerializer(serializers.Serializer):
    assignee = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), allow_null=True
    )


class IncidentEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IncidentEvent
        fields = ["id", "kind", "actor", "data", "created_at"]


class ResponseActionSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="number", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    performed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ResponseAction
        fields = [
            "id",
            "incident",
            "action_type",
            "description",
            "status",
            "parameters",
            "requested_by",
            "performed_by",
            "performed_at",
            "results",
            "created_at",
        ]
        read_only_fields = fields
