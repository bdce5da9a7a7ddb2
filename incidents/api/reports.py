"""Report downloads over the API.

    GET /api/v1/reports/incident/{id}/?as=pdf|csv
    GET /api/v1/reports/summary/?since=YYYY-MM-DD&until=YYYY-MM-DD&as=pdf|csv

The format is a plain query parameter, ``as``, rather than ``format`` or a ``.pdf``
suffix: DRF reads both of those as a choice of *renderer*, and a report is a file, not a
rendering of serializer data. For the same reason the Accept header is not consulted:
errors are always JSON, and a client asking for ``application/pdf`` gets the file (or a
JSON error), never a 406.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from socapp.audit import request_addr
from socapp.permissions import HasSocRole
from socapp.users import user_of

from .. import reports
from ..downloads import report_download
from ..models import Incident
from ..selectors import incidents_visible_to
from .lookup import IncidentLookupMixin


class FirstRendererNegotiation(BaseContentNegotiation):
    """Ignore Accept: the view picks the file format, DRF only ever renders errors."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser:
        return next(iter(parsers))

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, first.media_type


AS_PARAMETER = OpenApiParameter(
    "as", str, enum=list(reports.FORMATS), default="pdf", description="The file format."
)
FILE_TEXT = "The report as an attachment, in the format `as` asked for (docs/REPORTS.md)."
FILE_RESPONSES = {
    # One description for both: OpenAPI has one per status code.
    (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description=FILE_TEXT),
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description=FILE_TEXT),
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Bad parameters, with the reason"),
    404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such incident you may see"),
}


def _format(request: Request) -> str:
    fmt = request.query_params.get("as", "pdf")
    if fmt not in reports.FORMATS:
        raise ValidationError({"as": [f"Choose one of: {', '.join(reports.FORMATS)}."]})
    return fmt


class _ReportViewSet(viewsets.GenericViewSet):
    content_negotiation_class = FirstRendererNegotiation
    filter_backends: list = []
    pagination_class = None


class IncidentReportViewSet(IncidentLookupMixin, _ReportViewSet):
    """An incident's report; the incident is looked up among those the caller may see,
    exactly as GET /api/v1/incidents/{id}/ does (view_incident, then 404 if not visible)."""

    queryset = Incident.objects.none()

    def get_queryset(self) -> QuerySet[Incident]:
        return incidents_visible_to(user_of(self.request))

    @extend_schema(
        summary="An incident's report (PDF or CSV)",
        parameters=[AS_PARAMETER],
        responses=FILE_RESPONSES,
    )
    def retrieve(self, request: Request, pk: str | None = None) -> HttpResponse:
        fmt = _format(request)
        file = reports.incident_report_file(
            actor=user_of(request),
            incident=self.get_object(),
            fmt=fmt,
            remote_addr=request_addr(request),
        )
        return report_download(file)


class CanViewIncidents(permissions.BasePermission):
    """The summary has no model of its own; it is an incident-work report."""

    message = "Reading reports needs permission to view incidents."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.user.has_perm("incidents.view_incident")


class SummaryReportViewSet(_ReportViewSet):
    """The SOC summary over a period, counted over what the caller may see."""

    permission_classes = [permissions.IsAuthenticated, HasSocRole, CanViewIncidents]

    @extend_schema(
        summary="The SOC summary over a period (PDF or CSV)",
        parameters=[
            OpenApiParameter(
                "since", OpenApiTypes.DATE, description="First day (default: 6 days before until)"
            ),
            OpenApiParameter(
                "until", OpenApiTypes.DATE, description="Last day, inclusive (default: today)"
            ),
            AS_PARAMETER,
        ],
        responses={k: v for k, v in FILE_RESPONSES.items() if k != 404},
    )
    def list(self, request: Request) -> HttpResponse:
        fmt = _format(request)
        form = reports.PeriodForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(
                {
                    ("detail" if k == "__all__" else k): [str(m) for m in v]
                    for k, v in form.errors.items()
                }
            )
        file = reports.soc_summary_file(
            actor=user_of(request),
            period=form.cleaned_data["period"],
            fmt=fmt,
            remote_addr=request_addr(request),
        )
        return report_download(file)
