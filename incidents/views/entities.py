"""Entity pages: one IP address, user or host, with its events, alerts, incidents and
asset context, and one-click pivots to the entities seen with it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from events.selectors import events_search
from socapp.audit_access import note_list
from socapp.users import user_of

from ..entities import entity
from ..selectors import alerts_visible_to, incidents_visible_to
from .involved import assets_involved, indicators_involved, places_involved

EVENT_WINDOW = timedelta(days=7)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# What the event search asks for each kind of entity.
EVENT_QUERIES = {
    "ip": "source.ip:{v} OR destination.ip:{v}",
    "user": "related.user:{q} OR user.name:{q}",
    "host": "related.hosts:{q} OR host.name:{q}",
}


def _pivots(events: list, kind: str, value: str) -> dict[str, list[tuple[str, int]]]:
    """The other entities in these events, most frequent first."""
    seen: dict[str, Counter] = {"ip": Counter(), "user": Counter(), "host": Counter()}
    for event in events:
        related = (event.normalized_data or {}).get("related") or {}
        seen["ip"].update(str(ip) for ip in (event.source_ip, event.dest_ip) if ip)
        seen["user"].update(str(u) for u in related.get("user") or [])
        seen["host"].update(str(h) for h in related.get("hosts") or [])
    seen[kind].pop(value, None)
    return {k: counter.most_common(10) for k, counter in seen.items() if counter}


@login_required
@permission_required("events.view_event", raise_exception=True)
def entity_page(request: HttpRequest, kind: str, value: str) -> HttpResponse:
    canonical = entity(kind, value)
    if canonical is None:
        raise Http404(f"{value!r} is not an {kind} socapp can look up.")
    shown = canonical.split(":", 1)[1] if kind == "ip" else value
    now = timezone.now()
    query = EVENT_QUERIES[kind].format(v=shown, q=_quote(value))
    page = events_search(user_of(request), query=query, since=now - EVENT_WINDOW, until=now)
    alerts = list(
        alerts_visible_to(user_of(request))
        .filter(entities__contains=[canonical])
        .order_by("-last_seen_at")[:50]
    )
    incidents = list(
        incidents_visible_to(user_of(request))
        .filter(alerts__entities__contains=[canonical])
        .distinct()
        .order_by("-created_at")[:20]
    )
    note_list(request, "entity.read", "alerts", alerts)
    note_list(request, "entity.read", "incidents", incidents)
    return render(
        request,
        "incidents/entity.html",
        {
            "kind": kind,
            "value": shown,
            "entity": canonical,
            "query": query,
            "events": page.events,
            "more_events": bool(page.next_cursor),
            "alerts": alerts,
            "incidents": incidents,
            "assets_involved": assets_involved(user_of(request), entities=[canonical]),
            "indicators": indicators_involved([(e.event_id, e.event_time) for e in page.events]),
            "pivots": _pivots(page.events, kind, shown),
            "geo": places_involved([shown]) if kind == "ip" else None,
        },
    )
