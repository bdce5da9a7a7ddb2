"""/api/v1/vulnerabilities/: scanner findings on the inventory's assets, and their import.

Reading follows the assets (analysts: their teams' assets and those of no team);
importing needs ``assets.add_vulnerabilityfinding`` and ``change_vulnerabilityfinding``
(incident managers, SOC admins, integrations), like the inventory's CSV import.
docs/ASSETS.md, "Vulnerabilities".
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from socapp.api.negotiation import JsonOnly
from socapp.api.viewsets import AuditedReadMixin, ReadOnlyViewSet
from socapp.users import user_of

from ..models import VulnerabilityFinding
from ..vulns.base import Limits, ReportRefused
from ..vulns.selectors import findings_visible_to
from ..vulns.store import FORMATS, vulns_import

MAX_BYTES = Limits().max_bytes


class TooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The report is too large."


class ReportBodyParser(BaseParser):
    """The body as bytes, at most the import's limit (one byte more tells it is over)."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = stream.read(MAX_BYTES + 1) if stream is not None else b""
        if len(data) > MAX_BYTES:
            raise TooLarge(f"The report is larger than {MAX_BYTES:,} bytes.")
        return data


class FindingFilterSet(django_filters.FilterSet):
    asset = django_filters.UUIDFilter(field_name="asset_id")
    cve = django_filters.CharFilter(field_name="cve", lookup_expr="iexact", max_length=24)
    status = django_filters.ChoiceFilter(choices=VulnerabilityFinding.Status.choices)
    cvss_min = django_filters.NumberFilter(
        field_name="cvss_score", lookup_expr="gte", help_text="CVSS score at least this."
    )
    scanner = django_filters.CharFilter(max_length=40)

    class Meta:
        model = VulnerabilityFinding
        fields = ["asset", "cve", "status", "scanner"]


class FindingSerializer(serializers.ModelSerializer):
    asset_name = serializers.CharField(source="asset.name", read_only=True)

    class Meta:
        model = VulnerabilityFinding
        fields = [
            "id",
            "asset",
            "asset_name",
            "scanner",
            "plugin_id",
            "plugin_name",
            "port",
            "protocol",
            "cve",
            "cvss_score",
            "cvss_vector",
            "severity",
            "status",
            "first_seen",
            "last_seen",
            "fixed_at",
            "evidence",
        ]


class VulnImportResultSerializer(serializers.Serializer):
    format = serializers.CharField()
    scanner = serializers.CharField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    fixed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    informational = serializers.IntegerField(help_text="items with no risk, not stored")
    reasons = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="the first 200 skips: {where, reason}",
    )


class VulnUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=FORMATS, required=False)


class ProblemSerializer(serializers.Serializer):
    detail = serializers.CharField()


def _report(request: Request) -> tuple[bytes, str | None]:
    fmt = request.query_params.get("format")
    if isinstance(request.data, bytes):
        return request.data, fmt
    upload = request.FILES.get("file")
    if upload is None:
        raise ParseError("Send the report as the body or as `file`.")  # 400 {"detail": ...}
    if upload.size is not None and upload.size > MAX_BYTES:
        raise TooLarge(f"The report is larger than {MAX_BYTES:,} bytes.")
    form = request.data if isinstance(request.data, dict) else {}
    return upload.read(MAX_BYTES + 1), fmt or form.get("format")


class VulnerabilityFindingViewSet(AuditedReadMixin, ReadOnlyViewSet):
    """Findings of vulnerability scanners (Nessus, OpenVAS, CSV) on assets: CVE, CVSS,
    port, plugin, first and last seen, open or fixed."""

    queryset = VulnerabilityFinding.objects.none()
    audit_kind = "vulnerability"
    serializer_class = FindingSerializer
    filterset_class = FindingFilterSet
    ordering_fields = ["cvss_score", "last_seen", "first_seen", "cve"]
    action_permissions = {
        "import_report": [
            "assets.add_vulnerabilityfinding",
            "assets.change_vulnerabilityfinding",
        ]
    }

    def get_queryset(self) -> QuerySet[VulnerabilityFinding]:
        return findings_visible_to(user_of(self.request))

    @extend_schema(
        operation_id="vulnerabilities_import",
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=list(FORMATS),
                required=False,
                description="nessus, openvas or csv (required; a form field too)",
            )
        ],
        request={
            "multipart/form-data": VulnUploadSerializer,
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        responses={
            200: VulnImportResultSerializer,
            400: OpenApiResponse(ProblemSerializer, description="malformed or hostile report"),
            413: OpenApiResponse(ProblemSerializer, description="over the size or element limit"),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, ReportBodyParser],
        content_negotiation_class=JsonOnly,
        filterset_class=None,
        pagination_class=None,
    )
    def import_report(self, request: Request) -> Response:
        """Import a scanner report: one transaction, answered with created / updated /
        unchanged / fixed / skipped counts and the first skip reasons."""
        content, fmt = _report(request)
        if fmt not in FORMATS:
            return Response(
                {"detail": f"Give format: one of {', '.join(FORMATS)}."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            result = vulns_import(actor=user_of(request), content=content, fmt=fmt)
        except ReportRefused as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        return Response(VulnImportResultSerializer(result.as_dict()).data)
