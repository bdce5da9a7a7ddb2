"""Pages of the events app."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from socapp.audit import request_addr
from socapp.geoip import geoip
from socapp.models import SavedView
from socapp.selectors import saved_views_for
from socapp.services import saved_view_save
from socapp.timerange import local_input, page_range
from socapp.users import user_of

from .export import events_export
from .files import file_ingest
from .forms import SearchForm, UploadForm
from .inflate import InputRefused
from .search import QueryError
from .search.facets import (
    MAX_COLUMNS,
    and_prefix,
    chosen_columns,
    event_fields,
    facets,
    field_value,
)
from .search_rows import adding_column, field_rows
from .search_rows import searching as search_link
from .selectors import (
    SearchHistogram,
    events_search,
    events_search_histogram,
    sources_user_may_ingest_into,
)


@login_required
@permission_required("events.add_ingestbatch", raise_exception=True)
def upload(request: HttpRequest) -> HttpResponse:
    """Upload a log file into a source of the user's teams: the same path as
    `manage.py ingest`.

    The file is read as a stream (never whole in memory), within the file limits of
    ``events.inflate``: over one, the page says which and nothing is stored (413). A
    member that breaks off is stored as far as it was readable and listed as a problem
    (400)."""
    report = None
    status = 200
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        sources=sources_user_may_ingest_into(user_of(request)),
    )
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            report = file_ingest(
                source=form.cleaned_data["source"],
                name=upload_file.name,
                upload=upload_file,
                log_format=form.cleaned_data["log_format"] or None,
                transport="upload",
            )
        except InputRefused as exc:
            form.add_error("file", str(exc))
            status = exc.status
        else:
            status = 400 if report.problems else 200
    elif form.errors:
        status = 400
    return render(
        request,
        "events/upload.html",
        {"form": form, "report": report},
        status=status,
    )


GEO_FIELD = re.compile(r"\b(?:source|destination)\.(?:geo|as)\.")


def geo_off_for(query: str) -> str:
    """What to say when ``query`` asks for geolocation fields and none are added."""
    if not GEO_FIELD.search(query):
        return ""
    return geoip.why_off()


@login_required
@permission_required("events.view_event", raise_exception=True)
def search(request: HttpRequest) -> HttpResponse:
    """Event search over a time range (the language: docs/SEARCH.md), newest first."""
    form = SearchForm(request.GET or None)
    _, picker, _ = page_range(request, default="24h")
    context: dict = {
        "form": form,
        "page": None,
        "error": "",
        "columns": _column_links(request.GET),
        "picker": picker,
    }
    status = 200
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        started = time.monotonic()
        try:
            context["geo_off"] = geo_off_for(data["q"])
            context["page"] = events_search(
                user_of(request),
                query=data["q"],
                since=data["since"],
                until=data["until"],
                cursor=data["cursor"],
                budget_ms=_results_budget(),
            )
            histogram = events_search_histogram(
                user_of(request),
                query=data["q"],
                since=data["since"],
                until=data["until"],
                time_left=lambda: _count_time_left(started),
                exact=context["page"].searched_back_to is None,
            )
            context["histogram"] = histogram
            context["bars"] = _bars(histogram, request.GET)
            context["chart_width"], context["chart_height"] = CHART_WIDTH, CHART_HEIGHT
            context["bar_width"] = _duration(histogram.width)
            searching = search_link(request.GET)
            found = context["page"].events
            names = [c["name"] for c in context["columns"]]
            adding = adding_column(names, request.GET, MAX_COLUMNS)
            context["facets"] = _facet_links(facets(found, data["q"]), searching, adding)
            prefix = and_prefix(data["q"])
            columns = context["columns"]
            context["rows"] = [
                (
                    e,
                    field_rows(event_fields(e, prefix), searching, adding),
                    [field_value(e, c["name"]) for c in columns],
                )
                for e in found
            ]
        except QueryError as exc:
            context["error"], status = str(exc), 400
    elif form.is_bound:
        status = 400
    context["query_string"] = _without(request.GET, "cursor")
    context["export_rows"] = settings.SEARCH_EXPORT_MAX_ROWS
    context["saved"] = saved_views_for(user_of(request), SavedView.Page.EVENTS)
    return render(request, "events/search.html", context, status=status)


def _results_budget() -> int:
    """The page's results read for at most this long (SEARCH_TIME_BUDGET_MS, leaving
    the count at least COUNT_RESERVE_MS of SEARCH_COUNT_TIMEOUT_MS): results and count
    together keep the page within its 300 ms."""
    total = settings.SEARCH_COUNT_TIMEOUT_MS
    return max(0, min(settings.SEARCH_TIME_BUDGET_MS, total - COUNT_RESERVE_MS))


COUNT_RESERVE_MS = 60


def _count_time_left(started: float) -> int:
    """The count's time limit: SEARCH_COUNT_TIMEOUT_MS less what the results took, so
    results and count together keep within it; at least 50 ms (or the setting, if less)."""
    limit = settings.SEARCH_COUNT_TIMEOUT_MS
    spent = int((time.monotonic() - started) * 1000)
    return max(min(limit, 50), limit - spent)


# The histogram's drawing area (SVG user units; the stylesheet scales it to the page).
CHART_WIDTH, CHART_HEIGHT = 960, 80


def _duration(width: timedelta) -> str:
    """'minute', '5 minutes', 'hour', '3 hours', 'day', '7 days'."""
    minutes = int(width.total_seconds() // 60)
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            n = minutes // size
            return unit if n == 1 else f"{n} {unit}s"
    return str(width)


def _bars(histogram: SearchHistogram, params: QueryDict) -> list[dict[str, Any]]:
    """One bar per bucket, its geometry and the search narrowed to its bucket (a
    link that works without JavaScript; static/js/search.js adds dragging)."""
    if not histogram.buckets:
        return []
    tallest = max(n for _, n in histogram.buckets) or 1
    width = CHART_WIDTH / len(histogram.buckets)
    bars = []
    for index, (start, count) in enumerate(histogram.buckets):
        end = min(start + histogram.width, histogram.until)
        height = round(CHART_HEIGHT * count / tallest, 1)
        narrowed = params.copy()
        narrowed.pop("cursor", None)
        narrowed["range"], narrowed["since"], narrowed["until"] = (
            "custom",
            local_input(start),
            local_input(end),
        )
        bars.append(
            {
                "x": round(index * width, 2),
                "w": round(max(width - 1, 0.5), 2),
                "y": CHART_HEIGHT - height,
                "h": height,
                "count": count,
                "start": local_input(start),
                "end": local_input(end),
                "href": "?" + narrowed.urlencode(),
            }
        )
    return bars


def _column_links(params: QueryDict) -> list[dict[str, str]]:
    """The chosen extra columns (``?col=``, kept by every link of the page), each with
    the link that drops it."""
    columns = chosen_columns(params.getlist("col"))
    found = []
    for name in columns:
        changed = params.copy()
        changed.pop("cursor", None)
        changed.setlist("col", [c for c in columns if c != name])
        found.append({"name": name, "remove": "?" + changed.urlencode()})
    return found


def _facet_links(
    found: list[Any], searching: Callable[[str], str], adding: Callable[[str], str]
) -> list[dict[str, Any]]:
    """The sidebar's fields, each value with the links of its filter queries (same range)."""
    return [
        {
            "field": facet.field,
            "add_column": adding(facet.field),
            "seen": facet.seen,
            "values": [
                {
                    "value": v.value,
                    "count": v.count,
                    "filter_for": searching(v.filter_for),
                    "filter_out": searching(v.filter_out),
                }
                for v in facet.values
            ],
        }
        for facet in found
    ]


@login_required
@permission_required("events.view_event", raise_exception=True)
def search_export(request: HttpRequest) -> HttpResponseBase:
    """The search's events as CSV (events/export.py): the same query and range as the
    page, newest first, capped, streamed. A bad query or range is the page's 400."""
    form = SearchForm(request.GET)
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    data = form.cleaned_data
    try:
        lines = events_export(
            actor=user_of(request),
            query=data["q"],
            since=data["since"],
            until=data["until"],
            columns=chosen_columns(request.GET.getlist("col")),
            remote_addr=request_addr(request),
        )
    except QueryError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="events-{stamp}.csv"'
    response["X-Row-Limit"] = str(settings.SEARCH_EXPORT_MAX_ROWS)
    return response


def _without(params: QueryDict, name: str) -> str:
    params = params.copy()
    params.pop(name, None)
    return params.urlencode()


@login_required
@permission_required("events.view_event", raise_exception=True)
@require_POST
def save_search(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    try:
        saved_view_save(
            owner=user_of(request),
            page=SavedView.Page.EVENTS,
            name=request.POST.get("name", ""),
            query=query,
            shared=bool(request.POST.get("shared")),
        )
        messages.success(request, "Search saved.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(reverse("events:search") + "?" + query)
