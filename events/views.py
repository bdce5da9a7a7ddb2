"""Pages of the events app."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from socapp.models import SavedView
from socapp.selectors import saved_views_for
from socapp.services import saved_view_save

from .files import UnreadableFile, file_ingest
from .forms import SearchForm, UploadForm
from .search import QueryError
from .selectors import events_search


@permission_required("events.add_ingestbatch", raise_exception=True)
def upload(request: HttpRequest) -> HttpResponse:
    """Upload a log file into a source: the same path as `manage.py ingest`."""
    report = None
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            report = file_ingest(
                source=form.cleaned_data["source"],
                name=upload_file.name,
                data=upload_file.read(),
                log_format=form.cleaned_data["log_format"] or None,
                transport="upload",
            )
        except UnreadableFile as exc:  # a 400 that says why, and what was stored before
            form.add_error("file", str(exc))
            report = exc.report if exc.report and exc.report.batches else None
    return render(
        request,
        "events/upload.html",
        {"form": form, "report": report},
        status=400 if form.errors else 200,
    )


@login_required
@permission_required("events.view_event", raise_exception=True)
def search(request: HttpRequest) -> HttpResponse:
    """Event search over a time range (the language: docs/SEARCH.md), newest first."""
    form = SearchForm(request.GET or None)
    context: dict = {"form": form, "page": None, "error": ""}
    status = 200
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            context["page"] = events_search(
                request.user,
                query=data["q"],
                since=data["since"],
                until=data["until"],
                cursor=data["cursor"],
            )
        except QueryError as exc:
            context["error"], status = str(exc), 400
    elif form.is_bound:
        status = 400
    context["query_string"] = _without(request.GET, "cursor")
    context["saved"] = saved_views_for(request.user, SavedView.Page.EVENTS)
    return render(request, "events/search.html", context, status=status)


def _without(params, name: str) -> str:  # type: ignore[no-untyped-def]
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
            owner=request.user,
            page=SavedView.Page.EVENTS,
            name=request.POST.get("name", ""),
            query=query,
            shared=bool(request.POST.get("shared")),
        )
        messages.success(request, "Search saved.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(reverse("events:search") + "?" + query)
