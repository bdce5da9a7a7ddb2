"""API errors are 4xx with a message, or 503 with Retry-After when a dependency is down;
never an unhandled 500 for something the client or an outage caused.

The last branch of ``exception_handler`` is a safety net, not a fix: an exception nobody
expected is logged with its traceback and answered as JSON (500), so an API client never
gets Django's HTML error page. The causes are fixed where they arise (the API fuzz test
counts every 5xx as a failure). ``not_found``/``bad_request``/``server_error`` do the same
for what never reaches a DRF view (an unknown /api/ URL, a request Django refuses).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from ..audit_access import note_denial_reason

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# Paths whose clients read JSON, never an HTML error page.
JSON_PREFIXES = ("/api/", "/services/collector")
SERVER_ERROR = "Internal server error; it has been logged."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error as JSON with a message. A service's refusal (Django's
    ValidationError or PermissionDenied, raised in a view) needs no mapping in the view:
    400 with its messages, 403 with its reason."""
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        messages = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(messages)
    if isinstance(exc, exceptions.PermissionDenied) and context.get("request") is not None:
        # The 403 is audited on its way out (socapp.audit_access.AuditMiddleware).
        note_denial_reason(context["request"], str(exc.detail))
    response = drf_exception_handler(exc, context)
    if response is not None:
        if isinstance(response.data, list):
            # A ValidationError raised with a bare message: one shape for every 400.
            response.data = {"non_field_errors": response.data}
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {
                "detail": "The request body is larger than "
                f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)."
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):  # too many fields, a forged header, ...
        return Response({"detail": str(exc) or "Bad request."}, status=400)
    if isinstance(exc, IntegrityError):
        return Response(
            {"detail": "This change conflicts with existing data."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower()
    ):
        logger.warning("database unavailable: %s", exc)
        return Response(
            {"detail": "The database is unavailable; retry later."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    view = context.get("view")
    logger.error("unexpected error in %s", type(view).__name__, exc_info=exc)
    set_rollback()
    return Response({"detail": SERVER_ERROR}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def _wants_json(request: HttpRequest) -> bool:
    return request.path_info.startswith(JSON_PREFIXES)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": SERVER_ERROR}, status=500)
    return defaults.server_error(request)
