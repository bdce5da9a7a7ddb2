"""The console's start page and the dashboard page (roof views: they read from several
apps)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required, login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, QueryDict
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from events.selectors import sources_visible_to
from incidents.choices import AlertStatus, IncidentStatus
from incidents.models import Severity
from incidents.selectors import alerts_visible_to, incidents_visible_to
from socapp.audit_access import note_list
from socapp.permissions import user_has_role
from socapp.timerange import given, page_range
from socapp.users import user_of

from .dashboard import LEGACY_HOURS, dashboard_data


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    context: dict = {"has_role": user_has_role(user)}
    if context["has_role"]:
        open_alerts = alerts_visible_to(user).exclude(status=AlertStatus.CLOSED)
        by_severity = dict(open_alerts.values_list("severity__name").annotate(n=Count("id")))
        recent_alerts = list(open_alerts.order_by("-triggered_at")[:10])
        open_incidents = list(
            incidents_visible_to(user)
            .exclude(status=IncidentStatus.CLOSED)
            .order_by("-created_at")[:10]
        )
        note_list(request, "home.read", "alerts", recent_alerts)
        note_list(request, "home.read", "incidents", open_incidents)
        context.update(
            severities=[(s, by_severity.get(s.name, 0)) for s in Severity.objects.all()],
            recent_alerts=recent_alerts,
            open_incidents=open_incidents,
            sources=sources_visible_to(user).order_by("-last_seen")[:10],
        )
    return render(request, "socapp/home.html", context)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The charts; drawn by static/js/dashboard.js from the JSON embedded here, then
    refreshed from /api/v1/dashboard/ (the same range) every 30 s and on live alert nudges.
    The range is the console's (socapp/timerange.py); the old ``?hours=24|168`` still
    works, and any other ``hours`` shows a day as it always did."""
    user = user_of(request)
    chosen, picker, error = page_range(
        request, default="24h", params=_with_legacy_hours(request.GET)
    )
    context: dict = {"has_role": user_has_role(user), "picker": picker, "range_error": error}
    if context["has_role"] and chosen is not None:
        context["data"] = dashboard_data(user, chosen)
        # The API reads the same range: relative keeps sliding, absolute carries offsets.
        context["api_query"] = urlencode(chosen.query())
    return render(request, "socapp/dashboard.html", context, status=400 if error else 200)


def _with_legacy_hours(params: QueryDict) -> QueryDict:
    if given(params) or "hours" not in params:
        return params
    wanted = params.get("hours") or ""
    hours = int(wanted) if wanted.isdigit() and int(wanted) in LEGACY_HOURS else 24
    params = params.copy()
    params["range"] = LEGACY_HOURS[hours]
    return params


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """The icon lives in static (img/favicon.svg, linked by base.html); a browser or tool
    that asks for /favicon.ico the old way is sent there (no login needed: it is public)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
