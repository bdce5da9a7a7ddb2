from datetime import UTC, datetime, timedelta

from django.utils import timezone
from rest_framework import serializers

from socapp.models import Team

from ..models import Event, EventAttribute, EventType, QuarantinedRecord, Source


class SourceSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="name", queryset=Team.objects.all())
    secret_configuration = serializers.JSONField(
        write_only=True,
        required=False,
        allow_null=True,
        help_text="Credentials the source needs. Write-only: never returned.",
    )
    senders = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        help_text="Syslog: sender IP addresses, networks (CIDR) or host names.",
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
            "time_zone",
            "senders",
            "token_prefix",
            "token_created_at",
            "token_revoked_at",
            "last_seen",
            "accepted_count",
            "duplicate_count",
            "quarantined_count",
            "bytes_received",
            "created_at",
            "updated_at",
        ]
        read_only_fields = list(Source.MANAGED_FIELDS)

    def validate_time_zone(self, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise serializers.ValidationError(f"{value!r} is not an IANA time zone") from exc
        return value


class SourceTokenSerializer(serializers.Serializer):
    ingest_token = serializers.CharField(help_text="Shown only in this response.")


class SourceCreatedSerializer(SourceSerializer):
    ingest_token = serializers.CharField(read_only=True, help_text="Shown only in this response.")

    class Meta(SourceSerializer.Meta):
        fields = [*SourceSerializer.Meta.fields, "ingest_token"]


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
    # A field named like Field.source, which the stubs then take for that attribute.
    source = serializers.SlugRelatedField(slug_field="name", read_only=True)  # type: ignore[assignment]

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
            "batch_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class QuarantinedRecordSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="name", read_only=True)  # type: ignore[assignment]
    raw = serializers.CharField(source="raw_text", read_only=True)

    class Meta:
        model = QuarantinedRecord
        fields = [
            "id",
            "source",
            "batch",
            "parser",
            "reason",
            "raw",
            "line_number",
            "received_at",
            "reprocessed_at",
            "omitted",
            "summary",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "omitted": {
                "help_text": "0 for a record kept whole; for a summary row, how many more "
                "rejected records of the batch were counted but not kept "
                "(QUARANTINE_MAX_PER_BATCH)"
            },
            "summary": {
                "help_text": "a summary row's counts per reason and its first_line and "
                "last_line; {} for a record"
            },
        }


DEFAULT_RANGE = timedelta(days=1)
EARLIEST = datetime.min.replace(tzinfo=UTC)


class SearchParamsSerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="The query (docs/SEARCH.md); empty: every event.",
    )
    since = serializers.DateTimeField(required=False, help_text="Default: 24 hours ago.")
    until = serializers.DateTimeField(required=False, help_text="Default: now.")
    cursor = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="``next_cursor`` of the previous page.",
    )
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=1000)

    def validate(self, attrs: dict) -> dict:
        attrs["until"] = attrs.get("until") or timezone.now()
        if "since" not in attrs:
            # A day before `until`, or the earliest moment there is for an `until` in year 1.
            attrs["since"] = max(attrs["until"], EARLIEST + DEFAULT_RANGE) - DEFAULT_RANGE
        return attrs


class SearchResultSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next_cursor = serializers.CharField(
        help_text="Empty on the last page. Follow it until it is empty: a page may hold "
        "fewer results than asked (even none) when the search's time budget ran out."
    )
    searched_back_to = serializers.DateTimeField(
        allow_null=True,
        help_text="Set when the time budget ran out before the range was read: events "
        "older than this were not searched yet; next_cursor continues from here.",
    )
