from rest_framework import serializers

from ..models import IOC, RetroHunt, ThreatIntel


class ThreatIntelSerializer(serializers.ModelSerializer):
    credentials = serializers.JSONField(
        write_only=True,
        required=False,
        allow_null=True,
        help_text="Secrets for pulling the feed. Write-only: never returned.",
    )
    has_credentials = serializers.SerializerMethodField()

    class Meta:
        model = ThreatIntel
        fields = [
            "id",
            "source_name",
            "intel_type",
            "description",
            "url",
            "credentials",
            "has_credentials",
            "confidence_score",
            "is_active",
            "valid_from",
            "valid_until",
            "metadata",
            "created_at",
        ]

    def get_has_credentials(self, obj: ThreatIntel) -> bool:
        return bool(obj.credentials)


class IOCSerializer(serializers.ModelSerializer):
    intel = serializers.SlugRelatedField(
        slug_field="source_name", queryset=ThreatIntel.objects.all()
    )

    class Meta:
        model = IOC
        fields = [
            "id",
            "intel",
            "ioc_type",
            "value",
            "status",
            "confidence_score",
            "description",
            "tags",
            "first_seen",
            "last_seen",
            "created_at",
        ]


class RetroHuntSerializer(serializers.ModelSerializer):
    class Meta:
        model = RetroHunt
        fields = [
            "id",
            "status",
            "indicator_count",
            "range_start",
            "range_end",
            "searched_until",
            "progress",
            "events_scanned",
            "matches",
            "alerts",
            "created_at",
            "started_at",
            "finished_at",
            "error",
        ]
        read_only_fields = fields
