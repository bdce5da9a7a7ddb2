"""Reading events and sources.

Events are readable by every role holding ``events.view_event``, whatever team owns
their source: hunting and pivoting need all the data. Team boundaries apply to alerts
and incidents (incidents/selectors.py), which is where analysts' work lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import Event, EventType, HourlyEventSummary, Source
from .search import QueryError, compile_query, parse


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


SEARCH_PAGE = 50


@dataclass
class SearchPage:
    events: list[Event]
    next_cursor: str
    sql: str  # the WHERE the query became, for the curious and for "explain"


def _cursor_filter(cursor: str) -> Q:
    from django.utils.dateparse import parse_datetime

    at, _, event_id = cursor.partition("|")
    moment = parse_datetime(at)
    if moment is None or not event_id:
        raise QueryError("The cursor is not one this page gave out")
    return Q(event_time__lt=moment) | Q(event_time=moment, event_id__lt=event_id)


def events_search(
    user: Any, *, query: str, since: Any, until: Any, cursor: str = "", limit: int = SEARCH_PAGE
) -> SearchPage:
    """Events matching ``query`` (the search language, events/search/query.py) between
    ``since`` and ``until``, newest first, ``limit`` at a time; ``cursor`` continues
    where the previous page ended. Raises QueryError for a query that does not parse."""
    where, params = compile_query(parse(query))
    events = events_visible_to(user).filter(event_time__gte=since, event_time__lt=until)
    if where != "TRUE":
        # Only our compiler's SQL text, every user value a parameter.
        condition = RawSQL(where, params, output_field=BooleanField())  # noqa: S611
        events = events.filter(condition)
    if cursor:
        events = events.filter(_cursor_filter(cursor))
    rows = list(events.order_by("-event_time", "-event_id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{rows[-1].event_time.isoformat()}|{rows[-1].event_id}" if more else ""
    return SearchPage(rows, next_cursor, where)
