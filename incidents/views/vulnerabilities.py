"""The console's vulnerability pages: the findings list (filters: asset, CVE, open or
fixed, CVSS at least) and the scanner report upload. An asset's open findings are on
its page (``inventory.asset_detail``). docs/ASSETS.md, "Vulnerabilities"."""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from assets import normalize
from assets.forms import VulnImportForm
from assets.vulns.base import Limits, ReportRefused
from assets.vulns.selectors import findings_visible_to
from assets.vulns.store import vulns_import
from socapp.audit_access import note_list
from socapp.users import user_of

IMPORT_PERMS = ["assets.add_vulnerabilityfinding", "assets.change_vulnerabilityfinding"]


def _filtered(findings: QuerySet[Any], params: dict[str, str]) -> QuerySet[Any]:
    if params["asset"]:
        which = Q(asset__name__iexact=params["asset"])
        with contextlib.suppress(ValueError):
            which |= Q(asset__ip_addresses__contains=[normalize.ip(params["asset"])])
        findings = findings.filter(which)
    if params["cve"]:
        findings = findings.filter(cve__iexact=params["cve"])
    if params["status"] in ("open", "fixed"):
        findings = findings.filter(status=params["status"])
    try:
        floor = Decimal(params["cvss"]) if params["cvss"] else None
    except InvalidOperation:
        floor = None
    if floor is not None and floor.is_finite():
        findings = findings.filter(cvss_score__gte=floor)
    return findings


@login_required
@permission_required("assets.view_vulnerabilityfinding", raise_exception=True)
def finding_list(request: HttpRequest) -> HttpResponse:
    params = {
        key: request.GET.get(key, "").strip()[:100] for key in ("asset", "cve", "status", "cvss")
    }
    findings = _filtered(findings_visible_to(user_of(request)), params)
    page = Paginator(findings, 50).get_page(request.GET.get("page"))
    note_list(request, "vulnerability.list", "vulnerabilities", list(page))
    return render(
        request,
        "assets/vulnerabilities.html",
        {"page": page, "params": params, "filters": urlencode(params)},
    )


@login_required
@permission_required(IMPORT_PERMS, raise_exception=True)
@require_http_methods(["GET", "POST"])
def finding_import(request: HttpRequest) -> HttpResponse:
    form = VulnImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            content = form.cleaned_data["file"].read(Limits().max_bytes + 1)
            result = vulns_import(
                actor=user_of(request), content=content, fmt=form.cleaned_data["format"]
            )
        except ReportRefused as exc:
            form.add_error("file", str(exc))
    return render(request, "assets/vulnerability_import.html", {"form": form, "result": result})
