"""Middleware: probes before everything, login required for pages, request counters."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest, HttpResponse

from .metrics import http_requests
from .ops import health_response, metrics_response, ready_response

PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/health": lambda request: health_response(),
    "/ready": lambda request: ready_response(),
    "/metrics": lambda request: metrics_response(request.META.get("HTTP_AUTHORIZATION")),
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

    def process_view(self, request, view_func, view_args, view_kwargs):  # type: ignore[no-untyped-def]
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
