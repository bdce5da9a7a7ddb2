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


def source_for_token(token: str) -> Source | None:
    """The source an ingest token belongs to, if the token is one and still valid."""
    from socapp.tokens import SOURCE_PREFIX, token_digest

    if not token.startswith(SOURCE_PREFIX):
        return None
    return (
        Source.objects.select_related("team")
        .filter(token_digest=token_digest(token), token_revoked_at__isnull=True)
        .first()
    )


def syslog_sender_table() -> list[tuple[int, str, str]]:
    """(id, name, sender pattern) for every active source that names syslog senders."""
    return [
        (source_id, name, pattern)
        for source_id, name, senders in Source.objects.filter(is_active=True)
        .exclude(senders=[])
        .values_list("pk", "name", "senders")
        for pattern in senders
    ]
