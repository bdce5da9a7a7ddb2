"""The alert queue (live), alert detail and triage, saved views and mutes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from socapp.audit_access import note_list, note_read
from socapp.models import SavedView, Team
from socapp.selectors import saved_views_for
from socapp.services import saved_view_save
from socapp.users import User, user_of

from .. import services
from ..choices import AlertStatus
from ..filters import OPEN_STATUSES, AlertFilterSet
from ..forms import (
    BULK_ACTIONS,
    CLOSE_REASONS,
    AssignForm,
    BulkForm,
    CloseForm,
    CommentForm,
    EscalateForm,
    MergeForm,
    MuteForm,
    SeverityForm,
    selected_ids,
)
from ..models import Alert, Incident, Severity
from ..selectors import (
    alert_events,
    alert_mutes_active,
    alert_queue_page,
    alerts_related,
    alerts_visible_to,
    assignable_users,
    incident_can_change,
    incidents_open_for_merge,
)
from .common import attempt, form_errors, submit

VIEW = "incidents.view_alert"
CHANGE = "incidents.change_alert"
# How far back a live catch-up looks past its cursor: rows changed in a transaction that
# committed after a later one are still fetched (the page upserts, so repeats are free).
CATCH_UP_OVERLAP = timedelta(seconds=10)


def _queue_params(request: HttpRequest) -> QueryDict:
    """The queue's filters; with none given, the open alerts (what a shift starts with)."""
    params = request.GET.copy()
    for name in ("before", "fragment", "changed_since", "view"):
        params.pop(name, None)
    if not any(v for k, v in params.lists() if k != "ids"):
        params.setlist("status", list(OPEN_STATUSES))
    return params


def _cursor() -> str:
    return (timezone.now() - CATCH_UP_OVERLAP).isoformat()


def _assets_by_entity(alerts: list[Alert]) -> dict[str, str]:
    from assets.selectors import asset_names_for

    ips = {e[3:] for a in alerts for e in a.entities if e.startswith("ip:")}
    hosts = {e[5:] for a in alerts for e in a.entities if e.startswith("host:")}
    return asset_names_for(ips=ips, hosts=hosts)


def _decorate(alerts: list[Alert]) -> list[Alert]:
    names = _assets_by_entity(alerts)
    # Attributes for the templates only, which the model does not declare.
    for alert in alerts:
        alert.asset_names = sorted({names[e] for e in alert.entities if e in names})  # type: ignore[attr-defined]
        alert.techniques = (alert.rule.techniques if alert.rule else None) or alert.details.get(  # type: ignore[attr-defined]
            "techniques", []
        )
    return alerts


@login_required
@permission_required(VIEW, raise_exception=True)
def queue(request: HttpRequest) -> HttpResponse:
    params = _queue_params(request)
    filters = AlertFilterSet(params, queryset=alerts_visible_to(user_of(request)), request=request)
    alerts, next_cursor = alert_queue_page(filters.qs, request.GET.get("before"))
    note_list(request, "alert.list", "alerts", alerts)
    return render(
        request,
        "incidents/alert_queue.html",
        {
            "alerts": _decorate(alerts),
            "filters": filters,
            "query": params.urlencode(),
            "next_cursor": next_cursor,
            "is_first_page": not request.GET.get("before"),
            "live_cursor": _cursor(),
            "saved_views": saved_views_for(user_of(request), SavedView.Page.ALERTS),
            "severities": Severity.objects.all(),
            "teams": Team.objects.filter(pk__in=alerts_visible_to(user_of(request)).values("team")),
            "statuses": AlertStatus.choices,
            "selected": {k: params.getlist(k) for k in ("status", "severity")},
            "bulk_actions": BULK_ACTIONS,
            "close_reasons": CLOSE_REASONS,
            "can_change": request.user.has_perm(CHANGE),
        },
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def queue_rows(request: HttpRequest) -> HttpResponse:
    """The live queue's catch-up: rows of the alerts changed since ``changed_since`` that
    match the page's filters, and a removal marker for those that no longer match. The
    response's X-Cursor is where the next catch-up starts."""
    cursor = _cursor()
    params = _queue_params(request)
    visible = alerts_visible_to(user_of(request))
    changed = AlertFilterSet(
        {"changed_since": request.GET.get("changed_since", "")}, queryset=visible, request=request
    ).qs.order_by("-updated_at")[:500]
    changed_ids = [a.pk for a in changed]
    matching = AlertFilterSet(params, queryset=visible.filter(pk__in=changed_ids), request=request)
    rows = _decorate(list(matching.qs.order_by("-triggered_at")))
    note_list(request, "alert.list", "alerts", rows)
    gone = set(changed_ids) - {a.pk for a in rows}
    response = render(
        request,
        "incidents/partials/alert_rows.html",
        {"alerts": rows, "gone": gone, "can_change": request.user.has_perm(CHANGE)},
    )
    response["X-Cursor"] = cursor
    return response


def _alert(request: HttpRequest, pk: uuid.UUID) -> Alert:
    return get_object_or_404(alerts_visible_to(user_of(request)), pk=pk)


@login_required
@permission_required(VIEW, raise_exception=True)
def detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    alert = _alert(request, pk)
    note_read(request, "alert.read", alert)
    _decorate([alert])
    return render(
        request,
        "incidents/alert_detail.html",
        {
            "alert": alert,
            "events": alert_events(alert, user_of(request)),
            "related": _decorate(list(alerts_related(user_of(request), alert))),
            "comments": alert.comments.select_related("author"),
            "assignees": assignable_users(alert),
            "severities": Severity.objects.all(),
            "close_reasons": CLOSE_REASONS,
            "mute_form": MuteForm(),
            "escalate_form": EscalateForm(initial={"title": alert.title}),
            "merge_into": incidents_open_for_merge(user_of(request), alert.team_id)[:50],
            "can_change": request.user.has_perm(CHANGE),
            "can_escalate": request.user.has_perm("incidents.add_incident"),
            "can_link": alert.incident is not None
            and incident_can_change(user_of(request), alert.incident),
        },
    )


def _triage_steps(alert: Alert, user: User) -> dict:
    """action -> (form, the service call given the form's data, what to say when done)."""

    def update(changes: Callable[[dict], dict]) -> Callable[[dict], Alert]:
        return lambda data: services.alert_update(alert=alert, actor=user, **changes(data))

    return {
        "acknowledge": (
            None,
            update(lambda d: {"status": AlertStatus.ACKNOWLEDGED}),
            "Acknowledged.",
        ),
        "reopen": (None, update(lambda d: {"status": AlertStatus.OPEN}), "Reopened."),
        "assign": (
            partial(AssignForm, assignees=assignable_users(alert)),
            update(lambda d: {"assignee": d["assignee"], "unassign": d["assignee"] is None}),
            "Assignee changed.",
        ),
        "severity": (
            SeverityForm,
            update(lambda d: {"severity": d["severity"]}),
            "Severity changed.",
        ),
        "close": (
            CloseForm,
            update(lambda d: {"status": AlertStatus.CLOSED, "close_reason": d["close_reason"]}),
            "Closed.",
        ),
        "comment": (
            CommentForm,
            lambda d: services.alert_comment(alert=alert, actor=user, body=d["body"]),
            "",
        ),
        "mute": (
            MuteForm,
            lambda d: services.alert_mute(
                alert=alert, actor=user, duration=d["duration"], reason=d["reason"]
            ),
            "Similar alerts are muted.",
        ),
    }


def _triage(request: HttpRequest, alert: Alert, action: str) -> HttpResponse | None:
    """One triage step; returns a response to send instead of the alert page, if any."""
    if action == "escalate":
        return _escalate(request, alert)
    if action == "merge":
        _merge(request, alert)
        return None
    step = _triage_steps(alert, user_of(request)).get(action)
    if step is None:
        messages.error(request, f"Unknown action {action!r}.")
        return None
    form_class, change, done = step
    submit(request, form_class, change, done)
    return None


def _merge(request: HttpRequest, alert: Alert) -> None:
    form = MergeForm(request.POST)
    field = form.fields["incident"]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = incidents_open_for_merge(user_of(request), alert.team_id)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return
    incident = form.cleaned_data["incident"]
    if not incident_can_change(user_of(request), incident):
        raise PermissionDenied("You may read this incident but not change it.")
    attempt(
        request,
        lambda: services.incident_add_alerts(
            incident=incident, alerts=[alert], actor=user_of(request)
        ),
        f"Added to {incident.number}.",
    )


def _escalate(request: HttpRequest, alert: Alert) -> HttpResponse | None:
    if not request.user.has_perm("incidents.add_incident"):
        raise PermissionDenied("Your role cannot open incidents.")
    form = EscalateForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return None
    data = form.cleaned_data
    incident = attempt(
        request,
        lambda: services.incident_escalate(
            alert=alert,
            actor=user_of(request),
            title=data["title"],
            priority=data["priority"] or None,
            incident_type=data["incident_type"],
        ),
        "",
    )
    if incident is None:
        return None
    messages.success(request, f"Escalated to {incident.number}.")
    return redirect("incidents:detail", incident.number)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def triage(request: HttpRequest, pk: uuid.UUID, action: str) -> HttpResponse:
    alert = _alert(request, pk)
    response = _triage(request, alert, action)
    return response or redirect("alerts:detail", alert.pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    back = reverse("alerts:queue") + "?" + request.POST.get("query", "")
    form = BulkForm(request.POST)
    ids = selected_ids(request.POST)
    if not ids:
        messages.error(request, "Select at least one alert.")
        return redirect(back)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(back)
    alerts = list(alerts_visible_to(user_of(request)).filter(pk__in=ids).order_by("triggered_at"))
    data, user = form.cleaned_data, user_of(request)
    action = data["action"]
    if action == "acknowledge":
        attempt(
            request,
            lambda: services.alerts_bulk_update(
                alerts=alerts, actor=user, status=AlertStatus.ACKNOWLEDGED
            ),
            f"Acknowledged {len(alerts)} alerts.",
        )
    elif action == "assign":
        who = data["assignee"]
        attempt(
            request,
            lambda: services.alerts_bulk_update(
                alerts=alerts, actor=user, assignee=who, unassign=who is None
            ),
            f"Assigned {len(alerts)} alerts.",
        )
    elif action == "close":
        attempt(
            request,
            lambda: services.alerts_bulk_update(
                alerts=alerts,
                actor=user,
                status=AlertStatus.CLOSED,
                close_reason=data["close_reason"],
            ),
            f"Closed {len(alerts)} alerts.",
        )
    elif action == "escalate":
        return _bulk_escalate(request, alerts, back)
    elif action == "merge":
        incident = alerts and _merge_target(request, data["incident"])
        if incident:
            attempt(
                request,
                lambda: services.incident_add_alerts(incident=incident, alerts=alerts, actor=user),
                f"Added {len(alerts)} alerts to {incident.number}.",
            )
    return redirect(back)


def _merge_target(request: HttpRequest, number: str) -> Incident | None:
    from ..selectors import incidents_visible_to

    incident = incidents_visible_to(user_of(request)).filter(number=number.strip()).first()
    if incident is None:
        messages.error(request, f"No incident {number} that you can see.")
        return None
    if not incident_can_change(user_of(request), incident):
        raise PermissionDenied("You may read this incident but not change it.")
    return incident


def _bulk_escalate(request: HttpRequest, alerts: list[Alert], back: str) -> HttpResponse:
    if not request.user.has_perm("incidents.add_incident"):
        raise PermissionDenied("Your role cannot open incidents.")
    incident = attempt(
        request, lambda: services.incident_escalate_many(alerts=alerts, actor=user_of(request)), ""
    )
    if incident is None:
        return redirect(back)
    messages.success(request, f"Escalated {len(alerts)} alerts to {incident.number}.")
    return redirect("incidents:detail", incident.number)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    attempt(
        request,
        lambda: saved_view_save(
            owner=user_of(request),
            page=SavedView.Page.ALERTS,
            name=request.POST.get("name", ""),
            query=query,
            shared=bool(request.POST.get("shared")),
        ),
        "View saved.",
    )
    return redirect(reverse("alerts:queue") + "?" + query)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_POST
def delete_view(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    get_object_or_404(SavedView, pk=pk, owner=request.user).delete()
    return redirect("alerts:queue")


@login_required
@permission_required(VIEW, raise_exception=True)
def mutes(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "incidents/mutes.html",
        {
            "mutes": alert_mutes_active(user_of(request)),
            "can_change": request.user.has_perm(CHANGE),
        },
    )


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def lift_mute(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    mute = get_object_or_404(alert_mutes_active(user_of(request)), pk=pk)
    services.alert_mute_lift(mute=mute, actor=user_of(request))
    messages.success(request, "Mute lifted.")
    return redirect("alerts:mutes")
