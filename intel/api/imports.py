"""POST /api/v1/intel/import/: a threat-intel file into a feed, answered with counts.

The file is the body (any Content-Type; ``?format=`` says how to read it) or the
``file`` field of a multipart form (with ``format`` and the other options as fields).
Who may: holders of ``intel.import_threatintel`` (incident managers, integrations, SOC
admins); a feed that does not exist yet is created only for those who may add feeds
(SOC admins). docs/INTEL.md.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError, PermissionDenied
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from socapp.api.negotiation import JsonOnly
from socapp.permissions import HasSocRole
from socapp.users import user_of

from ..imports import FILE_FORMATS, ImportRefused
from ..services import IMPORT_PERMISSION, intel_import


class TooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The file is larger than INTEL_IMPORT_MAX_BYTES."


class RawBodyParser(BaseParser):
    """The body as bytes, at most ``INTEL_IMPORT_MAX_BYTES`` of it (one byte more is
    read to tell that it is over)."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.INTEL_IMPORT_MAX_BYTES
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise TooLarge(f"The file is larger than {limit:,} bytes (INTEL_IMPORT_MAX_BYTES).")
        return data


class MayImport(BasePermission):
    message = "Importing threat intel needs the import permission (managers, integrations)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.has_perm(IMPORT_PERMISSION))


IMPORT_RESULT = inline_serializer(
    "IntelImportResult",
    {
        "feed": serializers.CharField(),
        "format": serializers.CharField(),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "skipped": serializers.IntegerField(),
        "skips": serializers.ListField(
            child=serializers.DictField(child=serializers.CharField()),
            help_text="the first 100 skipped: where (line, object id), value, reason",
        ),
    },
)
PROBLEM = inline_serializer("IntelImportProblem", {"detail": serializers.CharField()})
OPTIONS = ("format", "feed", "mapping", "type")


def _option(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    data = request.data
    if value is None and not isinstance(data, bytes | list):
        value = data.get(name)
    return str(value).strip() if value else None


def _file(request: Request) -> tuple[bytes, str]:
    """The file's content and a name for messages (the upload's, or "the body")."""
    if isinstance(request.data, bytes):
        return request.data, "the body"
    upload = request.FILES.get("file")
    if upload is None:
        raise ParseError("Send the file as the body or as `file`.")  # 400 {"detail": ...}
    limit = settings.INTEL_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise TooLarge(f"{upload.name} is larger than {limit:,} bytes (INTEL_IMPORT_MAX_BYTES).")
    return upload.read(limit + 1), str(upload.name)[:200]


class IntelImportView(APIView):
    """Import a STIX 2.1 bundle, MISP event(s), a zipped MISP feed, a CSV or a plain list
    into a feed: one transaction, answered with created / updated / unchanged / skipped
    counts and the first skip reasons."""

    permission_classes = [HasSocRole, MayImport]
    content_negotiation_class = JsonOnly
    parser_classes = [MultiPartParser, RawBodyParser]

    @extend_schema(
        operation_id="intel_import",
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=list(FILE_FORMATS),
                required=False,
                description="how to read the file (required; a form field too)",
            ),
            OpenApiParameter(
                "feed",
                str,
                required=False,
                description='the feed to import into (default "imports")',
            ),
            OpenApiParameter(
                "mapping",
                str,
                required=False,
                description="CSV: field=column pairs, e.g. value=indicator,type=kind",
            ),
            OpenApiParameter(
                "type",
                str,
                required=False,
                description="CSV, list: one indicator type for every row",
            ),
        ],
        request={
            "multipart/form-data": inline_serializer(
                "IntelImportUpload",
                {
                    "file": serializers.FileField(),
                    **{name: serializers.CharField(required=False) for name in OPTIONS},
                },
            ),
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        responses={
            200: IMPORT_RESULT,
            **{
                code: OpenApiResponse(PROBLEM, description=why)
                for code, why in (
                    (400, "malformed file (the object or line is named), unknown format"),
                    (403, "no import permission, or a new feed without the right to add one"),
                    (413, "over INTEL_IMPORT_MAX_BYTES / _OBJECTS / _INDICATORS, or a zip bomb"),
                )
            },
        },
    )
    def post(self, request: Request) -> Response:
        fmt = _option(request, "format")
        if fmt not in FILE_FORMATS:
            return Response(
                {"detail": f"Give format: one of {', '.join(FILE_FORMATS)}."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        data, name = _file(request)
        try:
            result = intel_import(
                actor=user_of(request),
                data=data,
                fmt=fmt,
                feed_name=_option(request, "feed"),
                mapping=_option(request, "mapping"),
                ioc_type=_option(request, "type"),
                origin=name,
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except ImportRefused as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict())
