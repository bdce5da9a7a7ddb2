from rest_framework import serializers

from socapp.models import Team

from ..models import Correlation, CorrelationEvent, CorrelationRule, RuleStats, RuleVersion


class RuleStatsSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuleStats
        fields = [
            "evaluations",
            "errors",
            "time_spent",
            "hits",
            "alerts",
            "suppressed",
            "quarantined",
            "last_fired_at",
            "last_error",
        ]
        read_only_fields = fields


WRITABLE_RULE_FIELDS = (
    "definition",
    "team",
    "is_active",
    "generate",
    "suppression_mode",
    "suppression_window",
    "suppress_by",
)


class CorrelationRuleSerializer(serializers.ModelSerializer):
    """A rule. Writes take the Sigma YAML (``definition``); everything else that comes
    from the rule (title, level, status, type, window, techniques) is read from it."""

    team = serializers.SlugRelatedField(
        slug_field="name", queryset=Team.objects.all(), required=False, allow_null=True
    )
    stats = RuleStatsSerializer(read_only=True, allow_null=True)

    class Meta:
        model = CorrelationRule
        fields = [
            "id",
            "name",
            "sigma_id",
            "sigma_name",
            "description",
            "definition",
            "rule_type",
            "time_window",
            "threshold",
            "level",
            "status",
            "logsource",
            "tags",
            "techniques",
            "team",
            "is_active",
            "disabled_reason",
            "generate",
            "suppression_mode",
            "suppression_window",
            "suppress_by",
            "version",
            "origin",
            "stats",
            "created_at",
            "updated_at",
        ]
        # everything but the definition and the settings Sigma has no word for
        read_only_fields = [f for f in fields if f not in WRITABLE_RULE_FIELDS]


class RuleVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = RuleVersion
        fields = ["version", "definition", "created_by", "created_at"]
        read_only_fields = fields


class RuleProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class RuleInvalidSerializer(serializers.Serializer):
    """A 400 about a rule: each problem with its line, beside DRF's field errors (a
    request that misses a field answers with that field's errors alone)."""

    definition = serializers.ListField(child=serializers.CharField(), required=False)
    problems = RuleProblemSerializer(many=True, required=False)


class RuleTestSerializer(serializers.Serializer):
    definition = serializers.CharField(help_text="A Sigma detection rule (YAML).")
    event = serializers.JSONField(
        help_text="An event as stored: its normalized document (ECS fields and the "
        "source's own names), e.g. a Windows event with EventID, Channel, Image..."
    )
    raw = serializers.CharField(required=False, allow_blank=True, default="")


class RuleTestResultSerializer(serializers.Serializer):
    matched = serializers.BooleanField()
    logsource_fits = serializers.BooleanField(
        help_text="Whether the event is one the rule's logsource applies to."
    )
    detection_matches = serializers.BooleanField(
        help_text="Whether the detection matches, ignoring the logsource."
    )


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


class BacktestRequestSerializer(serializers.Serializer):
    since = serializers.CharField(help_text="ISO 8601, or relative to now: 7d, 24h, 30m.")
    until = serializers.CharField(
        default="0s", help_text="ISO 8601, or relative to now (default: now)."
    )


class WouldRaiseSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The alert id the live engine uses for this firing.")
    title = serializers.CharField()
    severity = serializers.CharField()
    triggered_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    group_key = serializers.CharField()
    count = serializers.IntegerField()
    existing = serializers.BooleanField(help_text="The live engine already raised it.")
    event_ids = serializers.ListField(child=serializers.CharField())


class BacktestResultSerializer(serializers.Serializer):
    rule_id = serializers.UUIDField()
    sigma_id = serializers.UUIDField(allow_null=True)
    title = serializers.CharField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    events_in_range = serializers.IntegerField()
    events_read = serializers.IntegerField(
        help_text="Events the rule's pushed-down condition let through to the matcher."
    )
    hits = serializers.DictField(child=serializers.IntegerField(), help_text="Per rule name.")
    alerts_total = serializers.IntegerField()
    alerts_existing = serializers.IntegerField()
    alerts_new = serializers.IntegerField()
    first_matches = WouldRaiseSerializer(many=True)
    pushdown = serializers.CharField(help_text="The SQL condition the backtest read with.")
