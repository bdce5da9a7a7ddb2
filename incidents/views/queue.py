"""The alert queue (/alerts/): sortable, counted, live; its catch-up rows, its bulk bar
(the ticked rows or every matching alert, capped), its grouped form and its preview."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

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
from socapp.timerange import PARAMS as TIME_PARAMS
from socapp.timerange import TimeRange, page_range
from socapp.users import User, user_of

from .. import services
from ..choices import AlertStatus
from ..filters import OPEN_STATUSES, AlertFilterSet
from ..forms import BULK_ACTIONS, CLOSE_REASONS, BulkForm, selected_ids
from ..models import Alert, Incident, Severity
from ..selectors import (
    BULK_MATCHING_CAP,
    GROUP_MEMBERS,
    GROUP_WINDOW,
    AlertGroup,
    QueueSort,
    alert_events,
    alert_queue_count,
    alert_queue_groups,
    alert_queue_page,
    alert_rule_names,
    alerts_for_bulk,
    alerts_in_queue_order,
    alerts_visible_to,
    incident_can_change,
)
from .common import attempt, form_errors

VIEW = "incidents.view_alert"
CHANGE = "incidents.change_alert"
# How far back a live catch-up looks past its cursor: rows changed in a transaction that
# committed after a later one are still fetched (the page upserts, so repeats are free).
CATCH_UP_OVERLAP = timedelta(seconds=10)
# Parameters of the page itself rather than filters of the alerts.
PAGE_PARAMS = ("before", "fragment", "changed_since", "view", "sort", "group", "gpage")
# The preview shows the first few events; the alert's page shows them all.
PREVIEW_EVENTS = 5
# The columns a user may sort by, as the table's headings show them.
SORT_HEADINGS = {
    "severity": "Severity",
    "time": "Age",
    "rule": "Alert",
    "status": "Status",
    "count": "Count",
}


def queue_params(params: QueryDict, chosen: TimeRange | None = None) -> QueryDict:
    """The queue's filters; with none given, the open alerts (what a shift starts with).
    A time range alone (carried from another page) keeps that default. With ``chosen``,
    the range parameters are replaced by its canonical ones."""
    params = params.copy()
    for name in PAGE_PARAMS:
        params.pop(name, None)
    if chosen is not None or "last" in params:
        for name in TIME_PARAMS:
            params.pop(name, None)
        params.update(chosen.query() if chosen else {})
    if not any(v for k, v in params.lists() if k not in ("ids", *TIME_PARAMS)):
        params.setlist("status", list(OPEN_STATUSES))
    return params


def _cursor() -> str:
    return (timezone.now() - CATCH_UP_OVERLAP).isoformat()


def _assets_by_entity(alerts: list[Alert]) -> dict[str, str]:
    from assets.selectors import asset_names_for

    ips = {e[3:] for a in alerts for e in a.entities if e.startswith("ip:")}
    hosts = {e[5:] for a in alerts for e in a.entities if e.startswith("host:")}
    ids = {e[6:] for a in alerts for e in a.entities if e.startswith("asset:")}
    return asset_names_for(ips=ips, hosts=hosts, ids=ids)


def main_entity(alert: Alert) -> str:
    """What the alert is mainly about: its first IP, user or host (the rule's own order,
    so a brute-force rule's source address before the user it tried)."""
    return next((e for e in alert.entities if e.split(":", 1)[0] in ("ip", "user", "host")), "")


def decorate(alerts: list[Alert], sort: QueueSort | None = None) -> list[Alert]:
    names = _assets_by_entity(alerts)
    sort = sort or QueueSort.parse(None)
    # Attributes for the templates only, which the model does not declare.
    for alert in alerts:
        alert.asset_names = sorted({names[e] for e in alert.entities if e in names})  # type: ignore[attr-defined]
        # An "asset:<id>" entity reads as the asset's name (above), not as its id.
        alert.shown_entities = [e for e in alert.entities if not e.startswith("asset:")][:4]  # type: ignore[attr-defined]
        alert.techniques = (alert.rule.techniques if alert.rule else None) or alert.details.get(  # type: ignore[attr-defined]
            "techniques", []
        )
        alert.main_entity = main_entity(alert)  # type: ignore[attr-defined]
        alert.sort_text = sort.key_text(alert)  # type: ignore[attr-defined]
    return alerts


def _headings(params: QueryDict, sort: QueueSort, grouped: bool) -> dict[str, dict[str, str]]:
    """Each sortable heading's link (the same filters, this column; a second click flips
    the direction) and its aria-sort state."""
    headings = {}
    for column, label in SORT_HEADINGS.items():
        current = sort.column == column
        # A first click sorts the way a column is usually read: newest, worst, most first.
        flip = "" if current and sort.descending else "-"
        if column in ("rule", "status") and not current:
            flip = ""
        link = params.copy()
        link["sort"] = f"{flip}{column}"
        if grouped:
            link["group"] = "1"
        state = "none"
        if current:
            state = "descending" if sort.descending else "ascending"
        headings[column] = {"label": label, "query": link.urlencode(), "state": state}
    return headings


def _page_query(params: QueryDict, sort: QueueSort, grouped: bool) -> str:
    """The filters plus the page's own settings (sort, grouping) that paging must keep."""
    query = params.copy()
    if sort.param != "-time":
        query["sort"] = sort.param
    if grouped:
        query["group"] = "1"
    return query.urlencode()


def _grouped_rows(
    filters: AlertFilterSet, params: QueryDict, sort: QueueSort, page: int
) -> tuple[list[Alert], bool]:
    """The grouped queue as rows: each group's newest alert, carrying the group, followed
    by its other shown members (hidden until the group is opened)."""
    groups, more = alert_queue_groups(filters.qs, sort, page)
    rows: list[Alert] = []
    for group in groups:
        lead = group.lead
        lead.group = group  # type: ignore[attr-defined]
        members = params_for_group(params, group)
        lead.group_query = members.urlencode()  # type: ignore[attr-defined]
        rows.append(lead)
        for member in group.members[1:]:
            member.member_of = lead.pk  # type: ignore[attr-defined]
            rows.append(member)
    return rows, more


def params_for_group(params: QueryDict, group: AlertGroup) -> QueryDict:
    """The ungrouped queue's filters for one group's members."""
    members = params.copy()
    if group.rule_id:
        members["rule"] = str(group.rule_id)
    else:
        members["q"] = group.lead.title
    if group.entity:
        members["entity"] = group.entity
    return members


def _page_number(text: str | None) -> int:
    try:
        return max(int(text or 0), 0)
    except ValueError:
        return 0


@login_required
@permission_required(VIEW, raise_exception=True)
def queue(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    chosen, picker, range_error = page_range(request, default=None, allow_any=True)
    params = queue_params(request.GET, chosen)
    sort = QueueSort.parse(request.GET.get("sort"))
    grouped = request.GET.get("group") == "1"
    filters = AlertFilterSet(params, queryset=alerts_visible_to(user), request=request)
    if range_error is not None:
        # The picker says what is wrong; the list stays empty rather than unfiltered.
        for name in TIME_PARAMS:
            params.pop(name, None)
        filters = AlertFilterSet(params, queryset=Alert.objects.none(), request=request)
    group_page = _page_number(request.GET.get("gpage"))
    next_cursor, more_groups = "", False
    if grouped:
        alerts, more_groups = _grouped_rows(filters, params, sort, group_page)
    else:
        alerts, next_cursor = alert_queue_page(filters.qs, request.GET.get("before"), sort)
    total, more = alert_queue_count(filters.qs)
    note_list(request, "alert.list", "alerts", alerts)
    page_query = _page_query(params, sort, grouped=grouped)
    return render(
        request,
        "incidents/alert_queue.html",
        {
            "alerts": decorate(alerts, sort),
            "filters": filters,
            "query": params.urlencode(),
            "page_query": page_query,
            "group_toggle_query": _page_query(params, sort, grouped=not grouped),
            "grouped": grouped,
            "group_window": GROUP_WINDOW,
            "group_members": GROUP_MEMBERS,
            "next_group_page": group_page + 1 if more_groups else None,
            "sort": sort,
            "headings": _headings(params, sort, grouped),
            "total": total,
            "total_more": more,
            "bulk_cap": BULK_MATCHING_CAP,
            "next_cursor": next_cursor,
            "is_first_page": not request.GET.get("before") and not grouped,
            "live_cursor": _cursor(),
            "saved_views": saved_views_for(user, SavedView.Page.ALERTS),
            "severities": Severity.objects.all(),
            "teams": Team.objects.filter(pk__in=alerts_visible_to(user).values("team")),
            "rule_names": alert_rule_names(user),
            "statuses": AlertStatus.choices,
            "selected": {k: params.getlist(k) for k in ("status", "severity")},
            "bulk_actions": BULK_ACTIONS,
            "close_reasons": CLOSE_REASONS,
            "can_change": request.user.has_perm(CHANGE),
            "picker": picker,
        },
        status=400 if range_error or filters.errors else 200,
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def queue_rows(request: HttpRequest) -> HttpResponse:
    """The live queue's catch-up: rows of the alerts changed since ``changed_since`` that
    match the page's filters, and a removal marker for those that no longer match. The
    response's X-Cursor is where the next catch-up starts."""
    cursor = _cursor()
    params = queue_params(request.GET)
    sort = QueueSort.parse(request.GET.get("sort"))
    visible = alerts_visible_to(user_of(request))
    changed = AlertFilterSet(
        {"changed_since": request.GET.get("changed_since", "")}, queryset=visible, request=request
    ).qs.order_by("-updated_at")[:500]
    changed_ids = [a.pk for a in changed]
    matching = AlertFilterSet(params, queryset=visible.filter(pk__in=changed_ids), request=request)
    rows = decorate(list(alerts_in_queue_order(matching.qs, sort)), sort)
    note_list(request, "alert.list", "alerts", rows)
    gone = set(changed_ids) - {a.pk for a in rows}
    response = render(
        request,
        "incidents/partials/alert_rows.html",
        {"alerts": rows, "gone": gone, "can_change": request.user.has_perm(CHANGE)},
    )
    response["X-Cursor"] = cursor
    return response


def _bulk_targets(request: HttpRequest, user: User) -> tuple[list[Alert], str] | None:
    """The alerts a bulk change is for and a note on how they were chosen: the ticked
    rows, or (scope "matching") the newest BULK_MATCHING_CAP alerts matching the page's
    filters. Both go through the same permission-filtered selector as the page."""
    visible = alerts_visible_to(user)
    if request.POST.get("scope") == "matching":
        params = queue_params(QueryDict(request.POST.get("query", "")))
        filters = AlertFilterSet(params, queryset=visible, request=request)
        if not filters.is_valid():
            messages.error(request, form_errors(filters.form))
            return None
        total, more = alert_queue_count(filters.qs)
        alerts = alerts_for_bulk(filters.qs)
        if not alerts:
            messages.error(request, "No alerts match these filters.")
            return None
        note = ""
        if more or total > len(alerts):
            note = (
                f" Only the newest {len(alerts)} of {total:,}{'+' if more else ''} matching "
                f"alerts were changed (at most {BULK_MATCHING_CAP} at a time); apply again "
                "for the rest."
            )
        return alerts, note
    ids = selected_ids(request.POST)
    if not ids:
        messages.error(request, "Select at least one alert.")
        return None
    return list(visible.filter(pk__in=ids).order_by("triggered_at")), ""


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    back = reverse("alerts:queue") + "?" + request.POST.get("query", "")
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(back)
    user = user_of(request)
    targets = _bulk_targets(request, user)
    if targets is None:
        return redirect(back)
    alerts, note = targets
    data = form.cleaned_data
    action = data["action"]
    if action == "acknowledge":
        attempt(
            request,
            lambda: services.alerts_bulk_update(
                alerts=alerts, actor=user, status=AlertStatus.ACKNOWLEDGED
            ),
            f"Acknowledged {len(alerts)} alerts.{note}",
        )
    elif action == "assign":
        who = data["assignee"]
        attempt(
            request,
            lambda: services.alerts_bulk_update(
                alerts=alerts, actor=user, assignee=who, unassign=who is None
            ),
            f"Assigned {len(alerts)} alerts.{note}",
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
            f"Closed {len(alerts)} alerts.{note}",
        )
    elif action == "escalate":
        return _bulk_escalate(request, alerts, back, note)
    elif action == "merge":
        incident = alerts and _merge_target(request, data["incident"])
        if incident:
            attempt(
                request,
                lambda: services.incident_add_alerts(incident=incident, alerts=alerts, actor=user),
                f"Added {len(alerts)} alerts to {incident.number}.{note}",
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


def _bulk_escalate(request: HttpRequest, alerts: list[Alert], back: str, note: str) -> HttpResponse:
    if not request.user.has_perm("incidents.add_incident"):
        raise PermissionDenied("Your role cannot open incidents.")
    incident = attempt(
        request, lambda: services.incident_escalate_many(alerts=alerts, actor=user_of(request)), ""
    )
    if incident is None:
        return redirect(back)
    messages.success(request, f"Escalated {len(alerts)} alerts to {incident.number}.{note}")
    return redirect("incidents:detail", incident.number)


def _detection_condition(alert: Alert) -> str:
    """The Sigma ``condition`` of the alert's rule, when it is a plain detection."""
    import yaml

    if alert.rule is None:
        return ""
    try:
        document = yaml.safe_load(alert.rule.definition)
    except yaml.YAMLError:
        return ""
    detection = document.get("detection") if isinstance(document, dict) else None
    condition = detection.get("condition") if isinstance(detection, dict) else None
    return condition if isinstance(condition, str) else ""


def _matched_fields(alert: Alert) -> list[tuple[str, Any]]:
    """The fields the rule recorded: a detection's entities, a correlation's group."""
    fields: dict[str, Any] = {}
    for part in ("entities", "group_by"):
        value = alert.details.get(part)
        if isinstance(value, dict):
            fields.update(value)
    return sorted(fields.items())


@login_required
@permission_required(VIEW, raise_exception=True)
def preview(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The queue's flyout: why the alert fired and its first events, as a fragment."""
    user = user_of(request)
    alert = get_object_or_404(alerts_visible_to(user), pk=pk)
    note_read(request, "alert.read", alert)
    return render(
        request,
        "incidents/partials/alert_preview.html",
        {
            "alert": decorate([alert])[0],
            "condition": _detection_condition(alert),
            "matched": _matched_fields(alert),
            "events": alert_events(alert, user, limit=PREVIEW_EVENTS),
        },
    )
