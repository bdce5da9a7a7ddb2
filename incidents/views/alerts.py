"""An alert's page and triage, saved views and mutes (the queue itself: queue.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from socapp.audit_access import note_read
from socapp.models import SavedView
from socapp.services import saved_view_delete, saved_view_save
from socapp.users import User, user_of

from .. import services
from ..choices import AlertStatus
from ..forms import (
    CLOSE_REASONS,
    AssignForm,
    CloseForm,
    CommentForm,
    EscalateForm,
    MergeForm,
    MuteForm,
    SeverityForm,
)
from ..models import Alert, Severity
from ..selectors import (
    alert_events,
    alert_mutes_active,
    alerts_related,
    alerts_visible_to,
    assignable_users,
    incident_can_change,
    incidents_open_for_merge,
)
from .common import attempt, form_errors, submit
from .involved import assets_involved, entity_addresses, indicators_involved, places_involved
from .queue import CHANGE, VIEW, decorate


def _alert(request: HttpRequest, pk: uuid.UUID) -> Alert:
    return get_object_or_404(alerts_visible_to(user_of(request)), pk=pk)


@login_required
@permission_required(VIEW, raise_exception=True)
def detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    alert = _alert(request, pk)
    note_read(request, "alert.read", alert)
    decorate([alert])
    events = alert_events(alert, user_of(request))
    return render(
        request,
        "incidents/alert_detail.html",
        {
            "alert": alert,
            "events": events,
            "assets_involved": assets_involved(
                user_of(request), entities=alert.entities, details=[alert.details]
            ),
            "indicators": indicators_involved([(e.event_id, e.event_time) for e in events]),
            "geo": places_involved(
                [
                    *entity_addresses(alert.entities),
                    *(ip for e in events for ip in (e.source_ip, e.dest_ip)),
                ]
            ),
            "related": decorate(list(alerts_related(user_of(request), alert))),
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
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    saved_view_delete(view=view, actor=user_of(request))
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
