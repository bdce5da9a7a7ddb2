"""GET /api/v1/dashboard/: the SOC dashboard's figures (a roof view: socapp/roof/dashboard.py
reads from several apps)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from socapp.permissions import IsAuthenticatedWithRole
from socapp.timerange import MOMENT_MAX_CHARS, TimeRangeError, time_range_from
from socapp.users import user_of

from ..dashboard import ALLOWED_HOURS, LEGACY_HOURS, dashboard_data


class DashboardQuerySerializer(serializers.Serializer):
    """The console's time range (socapp/timerange.py), with the old ``hours`` kept."""

    range = serializers.CharField(
        required=False,
        max_length=40,
        help_text="A relative range up to now: 15m, 1h, 4h, 24h (the default), 7d, 30d, or any "
        'number of m, h, d or w ("now-6h" works too). Bars are hourly up to 2 days, 6-hourly '
        "up to 8, daily up to 62, weekly beyond.",
    )
    since = serializers.CharField(
        required=False,
        max_length=MOMENT_MAX_CHARS,
        help_text="An absolute range's start, ISO 8601 (without an offset: UTC).",
    )
    until = serializers.CharField(
        required=False,
        max_length=MOMENT_MAX_CHARS,
        help_text="An absolute range's end, ISO 8601 (default: now).",
    )
    hours = serializers.ChoiceField(
        choices=ALLOWED_HOURS,
        required=False,
        help_text="The older way to say 24h or 7d: 24 or 168 (when no other range is given).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        params = {k: v for k, v in attrs.items() if k in ("range", "since", "until")}
        if not params and "hours" in attrs:
            params["range"] = LEGACY_HOURS[attrs["hours"]]
        try:
            # The API reads a moment without an offset as UTC, whoever asks.
            attrs["time_range"] = time_range_from(params, default="24h", zone=UTC)
        except TimeRangeError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from None
        return attrs


# The serializers below describe the response for the OpenAPI schema; the view returns
# dashboard_data() as it is (already plain JSON).


class DashboardSeriesSerializer(serializers.Serializer):
    name = serializers.CharField(help_text='An event type or source name, or "other".')
    counts = serializers.ListField(
        child=serializers.IntegerField(), help_text="One count per bucket of `buckets`."
    )


# A field named like Field.label, which the stubs then take for that attribute.
class DashboardSeveritySeriesSerializer(DashboardSeriesSerializer):
    label = serializers.CharField()  # type: ignore[assignment]
    color = serializers.CharField(help_text="The severity's colour, #rrggbb.")


class DashboardTopItemSerializer(serializers.Serializer):
    value = serializers.CharField()
    count = serializers.IntegerField(help_text="Alerts in the range.")


class DashboardTopRuleSerializer(DashboardTopItemSerializer):
    id = serializers.UUIDField(help_text="The rule's id.")


class DashboardTopSerializer(serializers.Serializer):
    source_ips = DashboardTopItemSerializer(many=True)
    destination_ips = DashboardTopItemSerializer(many=True)
    users = DashboardTopItemSerializer(many=True)
    rules = DashboardTopRuleSerializer(many=True)


class DashboardPriorityCountSerializer(serializers.Serializer):
    priority = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class DashboardResponseTimeSerializer(serializers.Serializer):
    mean_seconds = serializers.FloatField(allow_null=True)
    median_seconds = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField(help_text="How many alerts or incidents it is over.")


class DashboardSerializer(serializers.Serializer):
    hours = serializers.IntegerField(help_text="The range's length in hours, rounded up.")
    bucket_seconds = serializers.IntegerField(help_text="The width of one bar.")
    since = serializers.DateTimeField(help_text="Start of the first bucket.")
    until = serializers.DateTimeField(help_text="Now (the last bucket is partly filled).")
    buckets = serializers.ListField(
        child=serializers.DateTimeField(), help_text="Start of each bucket, oldest first."
    )
    summary_refreshed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the hourly event summary was last refreshed."
    )
    events_by_type = DashboardSeriesSerializer(many=True)
    events_by_source = DashboardSeriesSerializer(many=True)
    alerts_by_severity = DashboardSeveritySeriesSerializer(many=True)
    top = DashboardTopSerializer()
    open_incidents_by_priority = DashboardPriorityCountSerializer(many=True)
    mtta = DashboardResponseTimeSerializer(allow_null=True, help_text="Mean time to acknowledge.")
    mttr = DashboardResponseTimeSerializer(allow_null=True, help_text="Mean time to resolve.")


class DashboardView(APIView):
    """The dashboard's figures for the caller: event volumes (from the hourly summary),
    alerts by severity over time, top IPs, users and rules, open incidents by priority,
    MTTA and MTTR. Alert and incident figures count only what the caller may see."""

    permission_classes = [IsAuthenticatedWithRole]

    @extend_schema(parameters=[DashboardQuerySerializer], responses=DashboardSerializer)
    def get(self, request: Request) -> Response:
        query = DashboardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(dashboard_data(user_of(request), query.validated_data["time_range"]))
