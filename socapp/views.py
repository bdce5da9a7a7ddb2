"""The console's start page (a roof view: it reads from several apps) and the audit log."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from events.selectors import sources_visible_to
from incidents.choices import AlertStatus, IncidentStatus
from incidents.models import Severity
from incidents.selectors import alerts_visible_to, incidents_visible_to
from socapp.users import user_of

from .audit_access import note_list
from .dashboard import ALLOWED_HOURS, dashboard_data
from .filters import AuditEntryFilterSet
from .models import AuditEntry
from .permissions import user_has_role
from .selectors import audit_log


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


RANGES = [(24, "24 h"), (168, "7 d")]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The charts; drawn by static/js/dashboard.js from the JSON embedded here, then
    refreshed from /api/v1/dashboard/ every 30 s and on live alert nudges."""
    user = user_of(request)
    wanted = request.GET.get("hours", "")
    # The range switch's links only ever send 24 or 168; anything else shows a day.
    hours = int(wanted) if wanted.isdigit() and int(wanted) in ALLOWED_HOURS else 24
    context: dict = {"has_role": user_has_role(user), "hours": hours, "ranges": RANGES}
    if context["has_role"]:
        context["data"] = dashboard_data(user, hours=hours)
    return render(request, "socapp/dashboard.html", context)


AUDIT_PAGE = 50
# The fields shown as columns; every other field of an entry (those added later too) is
# listed under its "more" disclosure, so the page never hides what the log records.
AUDIT_COLUMNS = (
    "seq",
    "at",
    "actor_name",
    "remote_addr",
    "action",
    "object_type",
    "object_id",
    "object_repr",
)


def _other_fields(entry: AuditEntry) -> list[tuple[str, Any]]:
    rows = []
    for field in AuditEntry._meta.concrete_fields:
        if field.name in AUDIT_COLUMNS:
            continue
        value = field.value_from_object(entry)
        if isinstance(value, dict | list):
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        rows.append((str(field.verbose_name), value))
    return rows


@login_required
@permission_required("socapp.view_auditentry", raise_exception=True)
def audit_log_page(request: HttpRequest) -> HttpResponse:
    """The audit log for auditors and SOC admins: filters by actor, action, object and
    time; newest first, 50 a page, keyset-paginated on the sequence number (``before``),
    so the thousandth page costs what the first does."""
    params = request.GET.copy()
    before = params.pop("before", [""])[-1]
    filters = AuditEntryFilterSet(params, queryset=audit_log())
    entries = filters.qs if filters.is_valid() else AuditEntry.objects.none()
    if before.isdigit():
        entries = entries.filter(seq__lt=int(before))
    rows = list(entries[: AUDIT_PAGE + 1])
    page = rows[:AUDIT_PAGE]
    context = {
        "filters": filters,
        "entries": [(entry, _other_fields(entry)) for entry in page],
        "older": page[-1].seq if len(rows) > AUDIT_PAGE else None,
        "query_string": params.urlencode(),
        "paged": bool(before),
    }
    return render(
        request, "socapp/audit_log.html", context, status=200 if filters.is_valid() else 400
    )
