from rest_framework import serializers

from socapp.models import Team

from ..models import Event, EventAttribute, EventType, Source


class SourceSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="name", queryset=Team.objects.all())
    secret_configuration = serializers.JSONField(
        write_only=True,
        required=False,
        allow_null=True,
        help_text="Credentials the source needs. Write-only: never returned.",
    )

    class Meta:
        model = Source
        fields = [
            "id",
            "name",
            "source_type",
            "format",
            "description",
            "ip_address",
            "configuration",
            "secret_configuration",
            "team",
            "is_active",
            "last_seen",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["last_seen"]


class EventTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = EventType
        fields = [
            "id",
            "name",
            "category",
            "description",
            "schema",
            "severity_default",
            "created_at",
        ]


class EventAttributeSerializer(serializers.ModelSerializer):
    class Meta:
        model = EventAttribute
        fields = ["name", "value", "data_type"]


class EventSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Event
        fields = [
            "event_id",
            "event_time",
            "source",
            "event_type",
            "source_ip",
            "source_port",
            "dest_ip",
            "dest_port",
            "protocol",
            "normalized_data",
            "raw_data",
            "type_definition",
            "asset",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
