"""The incident pages: list, open, detail (workflow, assignment, tasks, comments,
evidence, linked alerts, events, assets and IOCs, the timeline)."""

from __future__ import annotations

import uuid
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from assets.selectors import asset_find
from intel.selectors import ioc_find
from socapp.audit_access import note_list, note_read
from socapp.users import User, user_of

from .. import services
from ..choices import (
    CLOSE_REASONS_BY_HAND,
    IncidentStatus,
    ObservableKind,
    SettleOutcome,
    TaskStatus,
)
from ..downloads import evidence_response
from ..filters import IncidentFilterSet
from ..forms import (
    ActionDecideForm,
    ActionRequestForm,
    ActionSettleForm,
    AssignForm,
    CloseIncidentForm,
    CommentForm,
    EvidenceForm,
    IncidentEditForm,
    IncidentForm,
    LinkEventForm,
    LinkForm,
    ObservableForm,
    StatusForm,
    TaskForm,
    TaskStatusForm,
    action_request_arguments,
)
from ..models import Evidence, Incident, IncidentTask, ResponseAction
from ..selectors import (
    EVENT_TIMELINE_PAGE,
    assignable_users,
    incident_actions,
    incident_alerts,
    incident_can_change,
    incident_detail,
    incident_event_keys,
    incident_event_timeline,
    incident_observables,
    incident_timeline,
    incidents_visible_to,
    teams_user_may_open_for,
)
from .common import attempt, submit
from .involved import assets_involved, indicators_involved

VIEW = "incidents.view_incident"


def _incident(request: HttpRequest, number: str) -> Incident:
    incident = incident_detail(user_of(request), number)
    if incident is None:
        raise Http404("No such incident, or not one you may see.")
    return incident


def _require_change(request: HttpRequest, incident: Incident) -> None:
    if not incident_can_change(user_of(request), incident):
        raise PermissionDenied("You may read this incident but not change it.")


@login_required
@permission_required(VIEW, raise_exception=True)
def incident_list(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    if not params:
        params["open"] = "true"
    filters = IncidentFilterSet(
        params, queryset=incidents_visible_to(user_of(request)), request=request
    )
    incidents = list(filters.qs.order_by("-created_at")[:200])
    note_list(request, "incident.list", "incidents", incidents)
    return render(
        request, "incidents/incident_list.html", {"incidents": incidents, "filters": filters}
    )


@login_required
@permission_required("incidents.add_incident", raise_exception=True)
def incident_new(request: HttpRequest) -> HttpResponse:
    teams = teams_user_may_open_for(user_of(request))
    form = IncidentForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        incident = attempt(
            request,
            lambda: services.incident_create(
                actor=user_of(request),
                title=data["title"],
                team=data["team"],
                description=data["description"],
                priority=data["priority"],
                tlp=data["tlp"],
                incident_type=data["incident_type"],
            ),
            "",
        )
        if incident is not None:
            messages.success(request, f"Opened {incident.number}.")
            return redirect("incidents:detail", incident.number)
    return render(request, "incidents/incident_new.html", {"form": form})


@login_required
@permission_required(VIEW, raise_exception=True)
def incident_page(request: HttpRequest, number: str) -> HttpResponse:
    incident = _incident(request, number)
    note_read(request, "incident.read", incident)
    user = user_of(request)
    return render(
        request,
        "incidents/incident_detail.html",
        {
            "incident": incident,
            "alerts": incident_alerts(incident),
            "timeline": incident_timeline(incident),
            "tasks": incident.tasks.select_related("assignee", "completed_by"),
            "comments": incident.comments.select_related("author", "from_alert"),
            "evidence": incident.evidence.select_related("uploaded_by"),
            "linked_events": incident.linked_events.all(),
            **_involved_context(user, incident),
            "next_statuses": [
                s for s in services.allowed_next_statuses(incident.status) if s != "closed"
            ],
            **_closing_context(incident),
            **_observables_context(incident),
            **_event_timeline_context(request, incident),
            "edit_form": IncidentEditForm(
                initial={
                    "title": incident.title,
                    "incident_type": incident.incident_type,
                    "priority": incident.priority,
                    "tlp": incident.tlp,
                    "description": incident.description,
                }
            ),
            "assignees": assignable_users(incident),
            "can_change": incident_can_change(user, incident),
            "can_assign": user.has_perm("incidents.assign_incident")
            and incident_can_change(user, incident),
            "task_statuses": TaskStatus.choices,
            **_actions_context(user, incident),
            "action_form": ActionRequestForm(),
            "can_request_actions": user.has_perm("incidents.add_responseaction")
            and incident_can_change(user, incident),
        },
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def incident_timeline_part(request: HttpRequest, number: str) -> HttpResponse:
    """The timeline alone, for the page to refresh when a live nudge says it changed."""
    incident = _incident(request, number)
    note_read(request, "incident.read", incident, part="timeline")
    return render(
        request, "incidents/partials/timeline.html", {"timeline": incident_timeline(incident)}
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def incident_actions_part(request: HttpRequest, number: str) -> HttpResponse:
    """The response actions table alone: the page refreshes it when a live nudge says an
    action was decided or finished."""
    incident = _incident(request, number)
    note_read(request, "incident.read", incident, part="actions")
    context = {"incident": incident, **_actions_context(user_of(request), incident)}
    return render(request, "incidents/partials/actions.html", context)


def _closing_context(incident: Incident) -> dict:
    """What the close form shows: the resolutions, the open tasks it warns about and how
    many alerts will close with the incident."""
    if incident.status == IncidentStatus.CLOSED:
        return {"may_close": False}
    return {
        "may_close": True,
        "resolutions": CLOSE_REASONS_BY_HAND,
        "open_tasks": list(incident.tasks.filter(status=TaskStatus.OPEN)),
        "alerts_to_close": incident.alerts.exclude(status="closed").count(),
    }


def _observables_context(incident: Incident) -> dict:
    observables = list(incident_observables(incident))
    shown = {o.ioc_id for o in observables}
    return {
        "observables": observables,
        "observable_kinds": [(k, ObservableKind(k).label) for k in ObservableForm.KINDS],
        # IOCs linked by hand that are not an observable's already.
        "other_iocs": [i for i in incident.iocs.all() if i.pk not in shown],
    }


def _involved_context(user: User, incident: Incident) -> dict:
    alerts = list(incident_alerts(incident).values_list("entities", "details")[:200])
    entities = {e for row, _ in alerts for e in row}
    return {
        "assets_involved": assets_involved(
            user, entities=entities, details=[details for _, details in alerts]
        ),
        "indicators": indicators_involved(incident_event_keys(incident)),
    }


def _event_timeline_context(request: HttpRequest, incident: Incident) -> dict:
    try:
        start = max(0, int(request.GET.get("events_from", "0")))
    except ValueError:
        start = 0
    rows, total = incident_event_timeline(incident, user_of(request), offset=start)
    return {
        "event_rows": rows,
        "event_total": total,
        "events_from": start,
        "events_to": start + len(rows),
        "events_previous": max(0, start - EVENT_TIMELINE_PAGE) if start else None,
        "events_next": start + len(rows) if start + len(rows) < total else None,
    }


def _actions_context(user: User, incident: Incident) -> dict:
    actions = list(incident_actions(incident))
    may_settle = services.may_settle(user) and incident_can_change(user, incident)
    return {
        "actions": actions,
        "can_approve": services.may_approve(user) and incident_can_change(user, incident),
        # Running past RESPONSE_STUCK_MINUTES: offered to managers to settle by hand.
        "settleable": {a.pk for a in actions if services.action_is_stuck(a)}
        if may_settle
        else set(),
    }


def _change_steps(request: HttpRequest, incident: Incident) -> dict:
    """action -> (form, the service call given the form's data, what to say when done)."""
    user = user_of(request)

    def task_status(data: dict) -> IncidentTask:
        task = get_object_or_404(incident.tasks, pk=data["task"])
        return services.task_update(task=task, actor=user, status=data["status"])

    def evidence(data: dict) -> Evidence:
        upload = data["file"]
        return services.evidence_add(
            incident=incident,
            actor=user,
            name=upload.name,
            content=upload,
            content_type=upload.content_type or "",
            description=data["description"],
        )

    def request_action(data: dict) -> ResponseAction:
        arguments = action_request_arguments(data)
        action = services.action_request(incident=incident, actor=user, **arguments)
        state = action.get_status_display().lower()
        messages.success(request, f"{action.get_action_type_display()}: {state}.")
        return action

    def decide_action(data: dict) -> None:
        action = get_object_or_404(incident.response_actions, pk=data["action"])
        approve = data["decision"] == "approve"
        services.action_decide(action=action, actor=user, approve=approve, note=data["note"])
        messages.success(request, "Approved: the action runs now." if approve else "Rejected.")

    def settle_action(data: dict) -> None:
        action = get_object_or_404(incident.response_actions, pk=data["action"])
        succeeded = data["outcome"] == SettleOutcome.SUCCEEDED
        services.action_settle(action=action, actor=user, succeeded=succeeded, note=data["note"])
        messages.success(request, f"Settled as {'succeeded' if succeeded else 'failed'}.")

    return {
        "edit": (
            IncidentEditForm,
            lambda d: services.incident_update(incident=incident, actor=user, **d),
            "Saved.",
        ),
        "status": (
            StatusForm,
            lambda d: services.incident_update(incident=incident, actor=user, status=d["status"]),
            "Status changed.",
        ),
        "close": (
            CloseIncidentForm,
            lambda d: services.incident_update(
                incident=incident,
                actor=user,
                status=IncidentStatus.CLOSED,
                resolution=d["resolution"],
                close_open_tasks=d["close_open_tasks"],
            ),
            "Closed.",
        ),
        "observable": (
            ObservableForm,
            lambda d: services.observable_add(incident=incident, actor=user, **d),
            "Observable added.",
        ),
        "assign": (
            partial(AssignForm, assignees=assignable_users(incident)),
            lambda d: services.incident_assign(
                incident=incident, assignee=d["assignee"], actor=user
            ),
            "Assignee changed.",
        ),
        "comment": (
            CommentForm,
            lambda d: services.incident_comment(incident=incident, actor=user, body=d["body"]),
            "",
        ),
        "task": (
            TaskForm,
            lambda d: services.task_add(incident=incident, actor=user, **d),
            "Task added.",
        ),
        "task-status": (TaskStatusForm, task_status, ""),
        "evidence": (EvidenceForm, evidence, "Evidence stored."),
        "link": (LinkForm, lambda d: _link(request, incident, d["kind"], d["value"]), ""),
        "link-event": (
            LinkEventForm,
            lambda d: services.incident_link_event(incident=incident, actor=user, **d),
            "Event added to the incident.",
        ),
        "action": (ActionRequestForm, request_action, ""),
        "action-decide": (ActionDecideForm, decide_action, ""),
        "action-settle": (ActionSettleForm, settle_action, ""),
    }


def _change(request: HttpRequest, incident: Incident, action: str) -> None:
    if action == "assign" and not request.user.has_perm("incidents.assign_incident"):
        raise PermissionDenied("Only incident managers assign incidents.")
    step = _change_steps(request, incident).get(action)
    if step is None:
        messages.error(request, f"Unknown action {action!r}.")
        return
    submit(request, *step)


def _link(request: HttpRequest, incident: Incident, kind: str, value: str) -> None:
    if kind == "asset":
        asset = asset_find(value)
        if asset is None:
            messages.error(request, f"No asset named or addressed {value!r}.")
            return
        services.incident_link_asset(incident=incident, actor=user_of(request), asset=asset)
        messages.success(request, f"Linked asset {asset.name}.")
        return
    ioc = ioc_find(value)
    if ioc is None:
        messages.error(request, f"No IOC with the value {value!r}.")
        return
    services.incident_link_ioc(incident=incident, actor=user_of(request), ioc=ioc)
    messages.success(request, f"Linked IOC {ioc.value}.")


@login_required
@permission_required("incidents.change_incident", raise_exception=True)
@require_POST
def incident_change(request: HttpRequest, number: str, action: str) -> HttpResponse:
    incident = _incident(request, number)
    _require_change(request, incident)
    _change(request, incident, action)
    return redirect("incidents:detail", incident.number)


@login_required
@permission_required(VIEW, raise_exception=True)
def evidence_download(request: HttpRequest, number: str, pk: uuid.UUID) -> FileResponse:
    """Evidence goes only to those who may see the incident."""
    incident = _incident(request, number)
    return evidence_response(get_object_or_404(incident.evidence, pk=pk), user_of(request))
