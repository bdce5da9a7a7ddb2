from rest_framework import serializers

from socapp.models import Team

from ..models import Correlation, CorrelationEvent, CorrelationRule


class CorrelationRuleSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(
        slug_field="name", queryset=Team.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = CorrelationRule
        fields = [
            "id",
            "name",
            "sigma_id",
            "description",
            "definition",
            "rule_type",
            "time_window",
            "threshold",
            "level",
            "status",
            "techniques",
            "team",
            "is_active",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version"]


class CorrelationEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = CorrelationEvent
        fields = ["event_id", "event_time"]


class CorrelationSerializer(serializers.ModelSerializer):
    events = CorrelationEventSerializer(source="event_links", many=True, read_only=True)

    class Meta:
        model = Correlation
        fields = [
            "id",
            "name",
            "rule",
            "start_time",
            "end_time",
            "event_count",
            "confidence_score",
            "metadata",
            "events",
            "created_at",
        ]
        read_only_fields = fields
