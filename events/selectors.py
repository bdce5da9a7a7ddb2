"""Reading events and sources.

Events are readable by every role holding ``events.view_event``, whatever team owns
their source: hunting and pivoting need all the data. Team boundaries apply to alerts
and incidents (incidents/selectors.py), which is where analysts' work lives.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db.models import BooleanField, Min, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from socapp.users import User

from .models import Event, EventType, HourlyEventSummary, IngestBatch, Source
from .search import QueryError, compile_query, parse, uses_an_index


def sources_visible_to(user: User) -> QuerySet[Source]:
    return Source.objects.select_related("team")


def sources_user_may_ingest_into(user: User) -> QuerySet[Source]:
    """The active sources a person may send events into by hand (the upload page):
    their teams' sources, or every one with ``events.ingest_any_source``. Machines
    send with a source's own ingest token, which names the source itself."""
    sources = Source.objects.select_related("team").filter(is_active=True)
    if user.is_superuser or user.has_perm("events.ingest_any_source"):
        return sources
    return sources.filter(team__in=user.teams.values("pk"))


def event_types_all() -> QuerySet[EventType]:
    return EventType.objects.all()


def events_visible_to(user: User) -> QuerySet[Event]:
    return Event.objects.select_related("source")


def hourly_summary() -> QuerySet[HourlyEventSummary]:
    return HourlyEventSummary.objects.select_related("source")


def hourly_summary_refreshed_at() -> datetime | None:
    """When beat last refreshed ``hourly_event_summary`` (None: not since Redis started)."""
    from django.core.cache import cache

    stamp = cache.get(HourlyEventSummary.REFRESHED_CACHE_KEY)
    return None if stamp is None else datetime.fromtimestamp(stamp, tz=UTC)


def batches_awaiting_correlation(*, older_than: timedelta, limit: int) -> list[uuid.UUID]:
    """Committed batches correlation has not confirmed for ``older_than`` (their message
    was lost), oldest first."""
    return list(
        IngestBatch.objects.filter(
            correlated_at__isnull=True, committed_at__lt=timezone.now() - older_than
        )
        .order_by("committed_at")
        .values_list("pk", flat=True)[:limit]
    )


def batch_has_earlier_uncorrelated(batch: IngestBatch) -> bool:
    """Whether a batch of ``batch``'s source committed before it is not correlated yet
    (being evaluated right now, or waiting): a source's batches are correlated in commit
    order, ties by id."""
    earlier = Q(committed_at__lt=batch.committed_at) | Q(
        committed_at=batch.committed_at, pk__lt=batch.pk
    )
    return (
        IngestBatch.objects.filter(source_id=batch.source_id, correlated_at__isnull=True)
        .filter(earlier)
        .exists()
    )


def source_name_and_team(source_id: Any) -> tuple[str | None, Any]:
    """A source's name and team (the engine labels alerts with them); (None, None) for a
    source that does not exist."""
    row = Source.objects.filter(pk=source_id).values_list("name", "team_id").first()
    return (row[0], row[1]) if row else (None, None)


def source_of_event(event_id: Any, event_time: datetime) -> Any:
    """The source id of one stored event (found in its partition by its time)."""
    return (
        Event.objects.filter(event_id=event_id, event_time=event_time)
        .values_list("source_id", flat=True)
        .first()
    )


def source_names_of_events(event_ids: list[Any], since: datetime, until: datetime) -> list[str]:
    """The names of the sources behind ``event_ids``, stored between ``since`` and
    ``until`` (so only the partitions that can hold them are read), sorted, each once."""
    names = (
        Event.objects.filter(event_id__in=event_ids, event_time__gte=since, event_time__lte=until)
        # without the model's ordering: DISTINCT would also tell apart the event times
        .order_by()
        .values_list("source__name", flat=True)
        .distinct()
    )
    return sorted(n for n in names if n)


def events_between(since: datetime, until: datetime) -> QuerySet[Event]:
    return Event.objects.filter(event_time__gte=since, event_time__lte=until)


def stored_events_matching(
    since: datetime, until: datetime, where_sql: str, params: list[Any], chunk: int
) -> Iterator[tuple[Any, ...]]:
    """(id, time, source, document, raw) of the events in [since, until] that meet
    ``where_sql`` (SQL of our own making, values bound), in event-time order (ties by
    id, as the live engine takes them), read in chunks (a backtest feeds the engine with
    them)."""
    events = events_between(since, until).extra(where=[where_sql], params=params)  # noqa: S610 - our own SQL, values bound
    return (
        # ties by id: the order of the stream the events came in (socapp.ids)
        events.order_by("event_time", "event_id")
        .values_list("event_id", "event_time", "source_id", "normalized_data", "raw_data")
        .iterator(chunk_size=chunk)
    )


def oldest_uncorrelated_commit() -> datetime | None:
    """When the oldest committed batch with events that correlation has not yet
    evaluated was committed (None: correlation is up to date)."""
    oldest: datetime | None = IngestBatch.objects.filter(
        correlated_at__isnull=True, accepted__gt=0
    ).aggregate(oldest=Min("committed_at"))["oldest"]
    return oldest


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


def syslog_sender_table() -> list[tuple[uuid.UUID, str, str]]:
    """(id, name, sender pattern) for every active source that names syslog senders."""
    return [
        (source_id, name, pattern)
        for source_id, name, senders in Source.objects.filter(is_active=True)
        .exclude(senders=[])
        .values_list("pk", "name", "senders")
        for pattern in senders
    ]


SEARCH_PAGE = 50
# A query no index can narrow (free text, wildcards, NOT alone) reads its range newest
# first in slices that double in length, and stops when a page is full or this much
# time has gone: the answer then says how far back it searched and continues from
# there, instead of holding the request until a month of events has been read.
FIRST_SLICE = timedelta(minutes=15)


@dataclass
class SearchPage:
    events: list[Event]
    next_cursor: str
    sql: str  # the WHERE the query became, for the curious and for "explain"
    # Set when the time budget ran out before the range was read: events older than
    # this were not searched yet, and next_cursor continues from here.
    searched_back_to: datetime | None = None


@dataclass(frozen=True)
class _Position:
    """Where a page ends: before ``at`` (and, at ``at`` itself, before ``event_id``),
    and for a sliced search the length of the next slice to read."""

    at: datetime
    event_id: str = ""
    next_slice: timedelta | None = None

    def older(self) -> Q:
        if not self.event_id:
            return Q(event_time__lt=self.at)
        return Q(event_time__lt=self.at) | Q(event_time=self.at, event_id__lt=self.event_id)

    def cursor(self) -> str:
        seconds = int(self.next_slice.total_seconds()) if self.next_slice else ""
        return f"{self.at.isoformat()}|{self.event_id}|{seconds}"


# A cursor's slice length is ours (at most the range searched); anything longer is forged.
MAX_CURSOR_SLICE = timedelta(days=366 * 10_000)


def _position(cursor: str, until: datetime) -> _Position:
    if not cursor:
        return _Position(until)
    try:
        return _parse_cursor(cursor, until)
    except (ValueError, OverflowError):
        raise QueryError("The cursor is not one this page gave out") from None


def _parse_cursor(cursor: str, until: datetime) -> _Position:
    """``at|event_id|seconds`` as ``_Position.cursor`` writes it; ValueError otherwise."""
    from django.utils.dateparse import parse_datetime

    at, _, rest = cursor.partition("|")
    event_id, _, seconds = rest.partition("|")
    moment = parse_datetime(at)
    if moment is None or moment.tzinfo is None:
        raise ValueError(at)
    if event_id:
        event_id = str(uuid.UUID(event_id))
    next_slice = None
    if seconds:
        if not (seconds.isascii() and seconds.isdigit()):
            raise ValueError(seconds)
        next_slice = timedelta(seconds=int(seconds))
        if not timedelta(0) < next_slice <= MAX_CURSOR_SLICE:
            raise ValueError(seconds)
    # In UTC: PostgreSQL takes no offset beyond 15:59, Python up to 23:59.
    return _Position(min(moment.astimezone(UTC), until), event_id, next_slice)


def events_search(
    user: User,
    *,
    query: str,
    since: Any,
    until: Any,
    cursor: str = "",
    limit: int = SEARCH_PAGE,
    budget_ms: int | None = None,
) -> SearchPage:
    """Events matching ``query`` (the search language, events/search/query.py) between
    ``since`` and ``until``, newest first, ``limit`` at a time; ``cursor`` continues
    where the previous page ended. Raises QueryError for a query that does not parse.

    A page may hold fewer than ``limit`` events and still have a ``next_cursor``: the
    time budget (``budget_ms``, default ``SEARCH_TIME_BUDGET_MS``) ran out;
    ``searched_back_to`` says where."""
    tree = parse(query)
    where, params = compile_query(tree)
    events = events_visible_to(user)
    if where != "TRUE":
        # Only our compiler's SQL text, every user value a parameter.
        condition = RawSQL(where, params, output_field=BooleanField())  # noqa: S611
        events = events.filter(condition)
    position = _position(cursor, until)
    # An index finds the candidates of the whole range at once; otherwise read slices.
    span = (position.at - since) if uses_an_index(tree) else (position.next_slice or FIRST_SLICE)
    budget = (settings.SEARCH_TIME_BUDGET_MS if budget_ms is None else budget_ms) / 1000
    started, found = time.monotonic(), list[Event]()
    while position.at > since:
        # Never compute a moment before `since` (near year 1 it would not exist).
        lower = since if position.at - since <= span else position.at - span
        window = events.filter(position.older(), event_time__gte=lower)
        sliced_at = time.monotonic()
        left_ms = int((budget - (sliced_at - started)) * 1000)
        read = _read_within(
            window.order_by("-event_time", "-event_id")[: limit + 1 - len(found)],
            max(left_ms, MIN_SLICE_MS, 1),  # (0 would be no limit at all)
        )
        if read is None:  # the slice outlasted the budget: answer, and go on in quarters
            smaller = _Position(position.at, position.event_id, next_slice=span / 4)
            return SearchPage(found, smaller.cursor(), where, searched_back_to=position.at)
        found += read
        if len(found) > limit:
            last = found[limit - 1]
            page = found[:limit]
            end = _Position(last.event_time, str(last.event_id), next_slice=span)
            return SearchPage(page, end.cursor(), where)
        span *= 2
        position = _Position(lower, next_slice=span)
        # The next slice is twice as long; expect it to take twice as long as this one.
        took = time.monotonic() - sliced_at
        if position.at > since and time.monotonic() - started + 2 * took > budget:
            return SearchPage(found, position.cursor(), where, searched_back_to=position.at)
    return SearchPage(found, "", where)


# A slice read always gets this long, however little of the budget is left.
MIN_SLICE_MS = 50


def _read_within(events: QuerySet[Event], timeout_ms: int) -> list[Event] | None:
    """The events of one slice, or None when reading them took over ``timeout_ms`` (a
    slice of a dense range can outlast the whole budget by itself)."""
    with _statement_timeout(timeout_ms) as finished:
        rows = list(events)
        finished()
        return rows
    return None


@contextmanager
def _statement_timeout(timeout_ms: int) -> Iterator[Callable[[], None]]:
    """Statements in the block are cancelled after ``timeout_ms``; the block is left
    quietly when one is (its savepoint rolled back). The setting is local and put back
    by the callable the block calls when done (inside an outer transaction a released
    savepoint keeps a local setting), so the rest of the request is not cut off."""
    from django.db import OperationalError, connection, transaction
    from psycopg.errors import QueryCanceled

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout')")
            previous = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)])
            yield lambda: cursor.execute(
                "SELECT set_config('statement_timeout', %s, true)", [previous]
            )
    except OperationalError as exc:
        if not isinstance(exc.__cause__, QueryCanceled):
            raise  # not our timeout: a real failure


# A histogram has at most this many bars: the bucket is the first of these widths that
# keeps under it, or for longer ranges whole days, as many as it takes.
HISTOGRAM_BARS = 120
HISTOGRAM_WIDTHS = [timedelta(minutes=n) for n in (1, 5, 15, 30, 60, 180, 360, 720, 1440, 7 * 1440)]


@dataclass
class SearchHistogram:
    """How many events a search matches over its whole range, bucket by bucket.

    ``total`` is exact when the count could be made within its time limit. Otherwise
    ``estimate`` holds the estimated total: from a random sample of the range's events
    (``sample_percent`` says how big; the buckets are the sample's, scaled), or, when
    even the sample ran out of time, PostgreSQL's planner's guess with no buckets."""

    since: datetime
    until: datetime
    width: timedelta
    buckets: list[tuple[datetime, int]]
    total: int | None
    estimate: int | None = None
    sample_percent: float | None = None


def histogram_width(span: timedelta) -> timedelta:
    for width in HISTOGRAM_WIDTHS:
        if span / width <= HISTOGRAM_BARS:
            return width
    days = -(-span // timedelta(days=1) // HISTOGRAM_BARS)  # ceiling
    return timedelta(days=days)


def _matching(user: User, query: str) -> QuerySet[Event]:
    where, params = compile_query(parse(query))
    events = events_visible_to(user)
    if where != "TRUE":
        # Only our compiler's SQL text, every user value a parameter.
        events = events.filter(RawSQL(where, params, output_field=BooleanField()))  # noqa: S611
    return events


def events_search_histogram(
    user: User,
    *,
    query: str,
    since: datetime,
    until: datetime,
    time_left: Callable[[], int],
    exact: bool = True,
) -> SearchHistogram:
    """The hits of ``query`` in [since, until) (the range a search pages through),
    counted per bucket of ``histogram_width`` with one GROUP BY date_bin over the same
    permission-filtered queryset as ``events_search``. Raises QueryError.

    Counting reads every matching row, which at a million events takes longer than a
    page may (docs/SEARCH.md). So: when the planner expects at most
    ``SEARCH_EXACT_COUNT_MAX_ROWS`` hits, count exactly; when it expects more, or the
    exact count runs out of ``time_left()`` milliseconds, count a random sample of
    about ``SEARCH_SAMPLE_ROWS`` of the range's events (TABLESAMPLE SYSTEM, whole
    pages, fixed seed so paging shows the same figures) and scale it; if that runs
    out of time too, give the planner's estimate. ``exact=False`` goes straight to the
    sample (the page's results already read the range slice by slice for lack of an
    index: an exact count could not finish in what time is left)."""
    width = histogram_width(until - since)
    in_range = events_visible_to(user).filter(event_time__gte=since, event_time__lt=until)
    events = _matching(user, query).filter(event_time__gte=since, event_time__lt=until)
    grouped = _bucketed(events, width, since)
    expected = _planner_estimate(events)
    if exact and expected <= settings.SEARCH_EXACT_COUNT_MAX_ROWS:
        rows = _within(time_left(), grouped.query.sql_with_params())
        if rows is not None:
            return _histogram(since, until, width, rows, scale=1.0)
    percent = min(100.0, 100.0 * settings.SEARCH_SAMPLE_ROWS / max(_planner_estimate(in_range), 1))
    sampled = _within(time_left(), _sampled(grouped, percent))
    if sampled is None:
        return SearchHistogram(since, until, width, [], None, expected)
    histogram = _histogram(since, until, width, sampled, scale=100.0 / percent)
    histogram.total, histogram.estimate = None, histogram.total
    histogram.sample_percent = percent
    return histogram


# A SQL text and its parameters.
Statement = tuple[str, tuple[Any, ...]]


def _bucketed(events: QuerySet[Event], width: timedelta, since: datetime) -> QuerySet[Any, Any]:
    from django.db.models import Count, DateTimeField, DurationField, F, Func, Value

    bucket = Func(
        Value(width, output_field=DurationField()),
        F("event_time"),
        Value(since, output_field=DateTimeField()),
        function="date_bin",
        output_field=DateTimeField(),
    )
    return events.order_by().annotate(bucket=bucket).values("bucket").annotate(n=Count("pk"))


def _sampled(grouped: QuerySet[Any, Any], percent: float) -> Statement | None:
    """The grouped query reading a ``percent`` % sample of the events table's pages.
    The clause goes right after the table in the FROM clause the ORM wrote (the number
    is ours, formatted here, not user input); None if the SQL is not of that shape."""
    sql, params = grouped.query.sql_with_params()
    table = f'FROM "{Event._meta.db_table}"'
    if table not in sql:
        return None
    clause = f"{table} TABLESAMPLE SYSTEM ({percent:.6f}) REPEATABLE (0)"
    return sql.replace(table, clause, 1), params


def _within(timeout_ms: int, statement: Statement | None) -> dict[datetime, int] | None:
    """Run a (bucket, count) query cut off after ``timeout_ms``; None when it was."""
    from django.db import connection

    if statement is None:
        return None
    with _statement_timeout(timeout_ms) as finished, connection.cursor() as cursor:
        cursor.execute(*statement)
        rows = dict(cursor.fetchall())
        finished()
        return rows
    return None


def _histogram(
    since: datetime, until: datetime, width: timedelta, rows: dict[datetime, int], scale: float
) -> SearchHistogram:
    buckets, at = [], since
    while at < until:
        buckets.append((at, round(rows.get(at, 0) * scale)))
        at += width
    return SearchHistogram(since, until, width, buckets, sum(n for _, n in buckets))


def _planner_estimate(events: QuerySet[Event]) -> int:
    import json

    plan = json.loads(events.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def events_search_rows(
    user: User, *, query: str, since: datetime, until: datetime, limit: int
) -> Iterator[Event]:
    """The events a search shows (same permission filter, condition and range), newest
    first, at most ``limit``, read from a server-side cursor in chunks (an export
    streams them). Raises QueryError for a query that does not parse — before any row
    is read, as the query is compiled here."""
    events = _matching(user, query).filter(event_time__gte=since, event_time__lt=until)
    newest = events.order_by("-event_time", "-event_id")[:limit]
    return newest.iterator(chunk_size=500)


class EventLinks(NamedTuple):
    """What case work reads of an alert's events: the asset ingest tied each to, and
    the CVEs each names (``vulnerability.id``, e.g. from an IDS rule's metadata)."""

    assets: dict[str, str]  # event id text -> asset id text
    cves: dict[str, list[str]]  # event id text -> CVE ids


def event_links(event_ids: list[Any], since: datetime, until: datetime) -> EventLinks:
    """The assets and CVEs of these events, for events stored in [since, until] (the
    bounds keep the read to their partitions): one query."""
    links = EventLinks({}, {})
    if not event_ids:
        return links
    rows = (
        Event.objects.filter(event_id__in=event_ids, event_time__gte=since, event_time__lte=until)
        .filter(Q(asset_id__isnull=False) | Q(normalized_data__has_key="vulnerability"))
        .values_list("event_id", "asset_id", "normalized_data__vulnerability__id")
    )
    for event_id, asset_id, named in rows:
        if asset_id is not None:
            links.assets[str(event_id)] = str(asset_id)
        listed = named if isinstance(named, list) else [named]
        cves = [c[:24] for c in listed[:20] if isinstance(c, str) and c.startswith("CVE-")]
        if cves:
            links.cves[str(event_id)] = cves
    return links
