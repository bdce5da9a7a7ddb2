"""Reading events and sources.

Events are readable by every role holding ``events.view_event``, whatever team owns
their source: hunting and pivoting need all the data. Team boundaries apply to alerts
and incidents (incidents/selectors.py), which is where analysts' work lives.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Event, EventType, HourlyEventSummary, Source


def sources_visible_to(user: Any) -> QuerySet[Source]:
    return Source.objects.select_related("team")


def event_types_all() -> QuerySet[EventType]:
    return EventType.objects.all()


def events_visible_to(user: Any) -> QuerySet[Event]:
    return Event.objects.select_related("source")


def hourly_summary() -> QuerySet[HourlyEventSummary]:
    return HourlyEventSummary.objects.select_related("source")
