"""Middleware: probes before everything, login required for pages, the second factor
admins must have, request counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import redirect
from django.utils import timezone

from .api.exceptions import JSON_PREFIXES
from .metrics import http_requests
from .ops import health_response, metrics_response, ready_response
from .text import NUL, NUL_MESSAGE, printable
from .timezones import zone_or_utc

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/health": lambda request: health_response(),
    "/ready": lambda request: ready_response(),
    "/metrics": metrics_response,
}


class ProbeMiddleware:
    """Answers probes and scrapes before host checks, redirects or sessions run.

    Kubernetes and Prometheus send the pod IP as Host and speak plain HTTP;
    ALLOWED_HOSTS, the HTTPS redirect and APPEND_SLASH must not turn a healthy pod
    into a failing probe. ``/health/`` with a slash works too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/") or "/")
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page needs a login unless its path is one that authenticates on its own
    (the API and metrics take tokens, the admin has its own login page)."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[Any, Any],
    ) -> HttpResponseBase | None:
        if request.path_info.startswith(settings.LOGIN_EXEMPT_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        http_requests.labels(request.method, f"{response.status_code // 100}xx").inc()
        return response


class RejectNulMiddleware:
    """A NUL character in the path or the query string is a 400 naming the parameter.

    PostgreSQL stores no NUL in text; a filter or lookup holding one would fail in the
    database (a 500) on any page or endpoint. Bodies are checked by the API's parsers
    (socapp.api.parsers) and by services for what they store.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = self._nul_parameter(request)
        if name is None:
            return self.get_response(request)
        if request.path_info.startswith(JSON_PREFIXES):
            return JsonResponse({name: [NUL_MESSAGE]}, status=400)
        return HttpResponseBadRequest(f"{name}: {NUL_MESSAGE}", content_type="text/plain")

    @staticmethod
    def _nul_parameter(request: HttpRequest) -> str | None:
        if NUL in request.path_info:
            return "path"
        for key, values in request.GET.lists():
            if NUL in key or any(NUL in value for value in values):
                return printable(key)
        return None


class SecondFactorMiddleware:
    """OTP_REQUIRED_FOR_ADMINS: a staff user, superuser or SOC admin whose session has
    not passed a second factor reaches only enrolment (and logging out): pages send them
    to /accounts/two-factor/, the API by session answers 403 saying so. Token requests
    (PAT, JWT) are not sessions and are decided by their own checks."""

    ALLOWED = ("/accounts/two-factor/", "/accounts/logout/", "/accounts/login/", "/static/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.OTP_REQUIRED_FOR_ADMINS and self._must_enrol(request):
            if request.path_info.startswith(JSON_PREFIXES):
                return JsonResponse({"detail": ENROL_FIRST}, status=403)
            return redirect("two_factor")
        return self.get_response(request)

    def _must_enrol(self, request: HttpRequest) -> bool:
        from .second_factor import second_factor_required

        user = getattr(request, "user", None)
        return (
            user is not None
            and user.is_authenticated
            and not request.path_info.startswith(self.ALLOWED)
            and not user.is_verified()
            and second_factor_required(user)
        )


ENROL_FIRST = (
    "Your role needs a second factor: set one up at /accounts/two-factor/ and log in with it."
)


class UserTimeZoneMiddleware:
    """Pages show and read times in the user's zone (their preference, UTC by default):
    Django's current time zone is theirs for the request. The API, HEC and the admin's
    API-like paths are left in UTC, so API responses stay ISO 8601 in UTC whoever asks."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(JSON_PREFIXES):
            return self.get_response(request)
        from .selectors import time_zone_name_of

        timezone.activate(zone_or_utc(time_zone_name_of(user)))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
