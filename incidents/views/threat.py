"""The threat-intel pages: indicators (search, one indicator with its sightings and the
events it matched), feeds (list, one feed with its indicators and last fetch, "fetch
now"), the feed form for SOC admins and the import form.

They live here with the other console pages for lower apps (the inventory's are in
``inventory``); the feeds, indicators, imports and permissions are the intel app's.
Everything a feed supplies (descriptions, context, titles, fetch errors, skip reasons)
is data: the templates show it escaped, never marked safe.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from intel.choices import IocStatus, IocType
from intel.feeds import feed_fetch_now, feed_save
from intel.forms import FeedForm, ImportForm, feed_initial
from intel.imports import ImportRefused
from intel.polling import pollable
from intel.selectors import (
    feed_get,
    feeds_by_name,
    feeds_with_counts,
    ioc_get,
    ioc_history,
    iocs_filtered,
)
from intel.services import intel_import
from intel.warninglists import context_lists
from socapp.audit_access import note_list, note_read
from socapp.users import user_of

VIEW_IOC, VIEW_FEED = "intel.view_ioc", "intel.view_threatintel"
IMPORT = "intel.import_threatintel"
PAGE_SIZE = 50
MATCH_WINDOW = timedelta(minutes=1)  # the search around a matched event's time


def _ioc_filters(request: HttpRequest) -> dict[str, str]:
    """The indicator filters of the query string, unknown choices dropped."""
    ioc_type, status = request.GET.get("type", ""), request.GET.get("status", "")
    return {
        "q": request.GET.get("q", "").strip()[:300],
        "type": ioc_type if ioc_type in IocType.values else "",
        "status": status if status in IocStatus.values else "",
    }


def _ioc_page(request: HttpRequest, feed: Any) -> dict[str, Any]:
    chosen = _ioc_filters(request)
    iocs = iocs_filtered(
        value=chosen["q"], ioc_type=chosen["type"], status=chosen["status"], feed=feed
    )
    page = Paginator(iocs, PAGE_SIZE).get_page(request.GET.get("page"))
    note_list(request, "ioc.list", "iocs", list(page))
    return {
        "page": page,
        **chosen,
        "filters": urlencode({**chosen, **({"feed": feed.pk} if feed else {})}),
        "types": IocType.choices,
        "statuses": IocStatus.choices,
    }


@login_required
@permission_required(VIEW_IOC, raise_exception=True)
def ioc_list(request: HttpRequest) -> HttpResponse:
    feeds = feeds_by_name()
    wanted = request.GET.get("feed", "")
    feed = next((f for f in feeds if str(f.pk) == wanted), None)
    context = _ioc_page(request, feed)
    return render(request, "intel/iocs.html", {**context, "feeds": feeds, "feed": feed})


def _search_query(ioc: Any, match: Any) -> str:
    """What the events search asks to find the matched event: the field holding the
    indicator (a domain's subdomains too)."""
    value = ioc.value.replace("\\", "\\\\").replace('"', '\\"')
    if ioc.ioc_type == IocType.DOMAIN:
        return f'{match.field}:"{value}" OR {match.field}:*.{value}'
    return f'{match.field}:"{value}"'


def _search_link(ioc: Any, match: Any) -> str:
    return urlencode(
        {
            "q": _search_query(ioc, match),
            "since": (match.event_time - MATCH_WINDOW).isoformat(timespec="seconds"),
            "until": (match.event_time + MATCH_WINDOW).isoformat(timespec="seconds"),
        }
    )


@login_required
@permission_required(VIEW_IOC, raise_exception=True)
def ioc_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    ioc = ioc_get(pk)
    if ioc is None:
        raise Http404("No such indicator.")
    note_read(request, "ioc.read", ioc)
    sightings, matches = ioc_history(ioc)
    return render(
        request,
        "intel/ioc.html",
        {
            "ioc": ioc,
            "tlp": ioc.get_tlp_display() if ioc.tlp else ioc.intel.get_tlp_display(),
            "sightings": sightings,
            "matches": [(m, _search_link(ioc, m)) for m in matches],
            "known_as": context_lists(ioc.ioc_type, ioc.value),
        },
    )


@login_required
@permission_required(VIEW_FEED, raise_exception=True)
def feed_list(request: HttpRequest) -> HttpResponse:
    feeds = list(feeds_with_counts())
    note_list(request, "threatintel.list", "feeds", feeds)
    return render(request, "intel/feeds.html", {"feeds": feeds})


def _feed(pk: Any) -> Any:
    feed = feed_get(pk)
    if feed is None:
        raise Http404("No such feed.")
    return feed


@login_required
@permission_required(VIEW_FEED, raise_exception=True)
def feed_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    feed = _feed(pk)
    note_read(request, "threatintel.read", feed)
    context = _ioc_page(request, feed)
    options = feed.metadata if isinstance(feed.metadata, dict) else {}
    return render(
        request,
        "intel/feed.html",
        {
            **context,
            "feed": feed,
            "options": {k: options.get(k) for k in ("collection", "mapping", "type")},
            "pollable": pollable(feed),
        },
    )


@login_required
@permission_required(IMPORT, raise_exception=True)
@require_POST
def feed_fetch(request: HttpRequest, pk: Any) -> HttpResponse:
    feed = _feed(pk)
    try:
        feed_fetch_now(actor=user_of(request), feed=feed)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"A fetch of {feed.source_name} is queued.")
    return redirect("intel:feed", feed.pk)


def _feed_form_page(request: HttpRequest, feed: Any) -> HttpResponse:
    initial = feed_initial(feed) if feed else {}
    form = FeedForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = feed_save(
                actor=user_of(request),
                feed=feed,
                data=form.data_for_service(),
                credentials=form.credentials(),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Saved {saved.source_name}.")
            return redirect("intel:feed", saved.pk)
    has_credentials = bool(feed and feed.credentials)
    return render(
        request,
        "intel/feed_form.html",
        {"form": form, "feed": feed, "has_credentials": has_credentials},
    )


@login_required
@permission_required("intel.add_threatintel", raise_exception=True)
@require_http_methods(["GET", "POST"])
def feed_new(request: HttpRequest) -> HttpResponse:
    return _feed_form_page(request, None)


@login_required
@permission_required("intel.change_threatintel", raise_exception=True)
@require_http_methods(["GET", "POST"])
def feed_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    return _feed_form_page(request, _feed(pk))


@login_required
@permission_required(IMPORT, raise_exception=True)
@require_http_methods(["GET", "POST"])
def intel_import_page(request: HttpRequest) -> HttpResponse:
    """Upload a file into a feed: the service the API calls, its counts and skip
    reasons shown (or why the whole file was refused)."""
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        try:
            result = intel_import(
                actor=user_of(request),
                data=upload.read(),
                fmt=data["format"],
                feed_name=data["feed"] or None,
                mapping=data["mapping"] or None,
                ioc_type=data["type"] or None,
                origin=str(upload.name)[:200],
            )
        except (ImportRefused, ValueError, PermissionDenied) as exc:
            form.add_error(None, str(exc))
    feeds = [f.source_name for f in feeds_by_name()]
    return render(request, "intel/import.html", {"form": form, "result": result, "feeds": feeds})
