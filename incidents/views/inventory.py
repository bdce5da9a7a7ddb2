"""The inventory's pages: the asset list and an asset with the events and alerts about
it, the asset form (also "add to inventory" from discovery), the CSV import and the
hosts seen in events but not in the inventory.

They live here, above events and alerts, because an asset's page shows both; the
inventory itself (models, services, permission filtering) is the assets app's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from assets import services
from assets.choices import Criticality
from assets.forms import AssetForm, ImportForm, initial_of
from assets.importing import MAX_BYTES, assets_import
from assets.selectors import (
    asset_types_all,
    assets_matching,
    assets_visible_to,
    discovered_hosts,
)
from assets.vulns.selectors import findings_visible_to
from events.search.query import QueryError
from events.selectors import events_search
from socapp.audit_access import note_list, note_read
from socapp.users import user_of

from ..selectors import alerts_visible_to

VIEW = "assets.view_asset"
RECENT = timedelta(days=7)
IDENTITIES_SEARCHED = 8  # an asset's addresses and names the events search asks for
MAX_FINDINGS = 50  # open findings on an asset's page (the list page has them all)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@login_required
@permission_required(VIEW, raise_exception=True)
def asset_list(request: HttpRequest) -> HttpResponse:
    assets = assets_visible_to(user_of(request))
    q = request.GET.get("q", "")[:300]
    assets = assets_matching(assets, q)
    if (criticality := request.GET.get("criticality", "")) in Criticality.values:
        assets = assets.filter(criticality=criticality)
    if kind := request.GET.get("type", "")[:100]:
        assets = assets.filter(asset_type__name=kind)
    page = Paginator(assets, 50).get_page(request.GET.get("page"))
    note_list(request, "asset.list", "assets", list(page))
    return render(
        request,
        "assets/list.html",
        {
            "page": page,
            "q": q,
            "criticality": criticality,
            "type": kind,
            "filters": urlencode({"q": q, "criticality": criticality, "type": kind}),
            "criticalities": Criticality.choices,
            "types": asset_types_all(),
        },
    )


def _visible_asset(request: HttpRequest, pk: Any) -> Any:
    asset = assets_visible_to(user_of(request)).filter(pk=pk).first()
    if asset is None:
        raise Http404("No such asset.")
    return asset


def _event_query(asset: Any) -> str:
    parts = [
        f"source.ip:{ip} OR destination.ip:{ip}" for ip in asset.ip_addresses[:IDENTITIES_SEARCHED]
    ]
    parts += [f"host.name:{_quote(h)}" for h in asset.hostnames[:IDENTITIES_SEARCHED]]
    return " OR ".join(parts)


def _recent_events(request: HttpRequest, query: str) -> list[Any]:
    if not query:
        return []
    now = timezone.now()
    try:
        page = events_search(user_of(request), query=query, since=now - RECENT, until=now, limit=25)
    except QueryError:  # a name the search language cannot quote; the page shows none
        return []
    return list(page.events)


def _entities_of(asset: Any) -> list[str]:
    return [
        f"asset:{asset.pk}",
        *(f"ip:{ip}" for ip in asset.ip_addresses),
        *(f"host:{h}" for h in asset.hostnames),
    ]


@login_required
@permission_required(VIEW, raise_exception=True)
def asset_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    asset = _visible_asset(request, pk)
    note_read(request, "asset.read", asset)
    query = _event_query(asset)
    alerts = list(
        alerts_visible_to(user_of(request))
        .filter(entities__overlap=_entities_of(asset))
        .order_by("-last_seen_at")[:25]
    )
    note_list(request, "asset.read", "alerts", alerts)
    findings = list(
        findings_visible_to(user_of(request)).filter(asset=asset, status="open")[:MAX_FINDINGS]
    )
    return render(
        request,
        "assets/detail.html",
        {
            "asset": asset,
            "events": _recent_events(request, query),
            "query": query,
            "alerts": alerts,
            "findings": findings,
        },
    )


def _save(request: HttpRequest, form: AssetForm, asset: Any) -> Any:
    data = form.data_for_service()
    kind = form.cleaned_data["asset_type"]
    if asset is None:
        return services.asset_create(actor=user_of(request), asset_type=kind, data=data)
    services.asset_update(actor=user_of(request), asset=asset, data=data, asset_type=kind)
    return asset


def _form_page(request: HttpRequest, asset: Any, initial: dict[str, Any]) -> HttpResponse:
    form = AssetForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = _save(request, form, asset)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Saved {saved.name}.")
            return redirect("assets:detail", saved.pk)
    return render(request, "assets/form.html", {"form": form, "asset": asset})


@login_required
@permission_required("assets.add_asset", raise_exception=True)
@require_http_methods(["GET", "POST"])
def asset_new(request: HttpRequest) -> HttpResponse:
    """A new asset; ``?ip=`` or ``?host=`` fill the form (discovery's "add to inventory")."""
    ip, host = request.GET.get("ip", "")[:45], request.GET.get("host", "")[:253]
    initial = {"name": host or ip, "ip_addresses": ip, "hostnames": host}
    return _form_page(request, None, initial)


@login_required
@permission_required("assets.change_asset", raise_exception=True)
@require_http_methods(["GET", "POST"])
def asset_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    asset = _visible_asset(request, pk)
    return _form_page(request, asset, initial_of(asset))


@login_required
@permission_required(["assets.add_asset", "assets.change_asset"], raise_exception=True)
@require_http_methods(["GET", "POST"])
def asset_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            content = form.cleaned_data["file"].read(MAX_BYTES + 1)
            result = assets_import(actor=user_of(request), content=content)
        except ValidationError as exc:
            form.add_error("file", exc.messages)
    return render(request, "assets/import.html", {"form": form, "result": result})


@login_required
@permission_required("assets.view_discoveredhost", raise_exception=True)
def discovered_list(request: HttpRequest) -> HttpResponse:
    hosts = discovered_hosts()
    if (kind := request.GET.get("kind", "")) in ("ip", "host"):
        hosts = hosts.filter(kind=kind)
    page = Paginator(hosts, 100).get_page(request.GET.get("page"))
    return render(request, "assets/discovered.html", {"page": page, "kind": kind})
