"""The audit log's console page (the console's start page and dashboard are roof views,
in socapp/roof/views.py)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .filters import AuditEntryFilterSet
from .models import AuditEntry
from .selectors import audit_log

AUDIT_PAGE = 50
# The fields shown as columns; every other field of an entry (those added later too) is
# listed under its "more" disclosure, so the page never hides what the log records.
AUDIT_COLUMNS = (
    "seq",
    "at",
    "actor_name",
    "remote_addr",
    "action",
    "object_type",
    "object_id",
    "object_repr",
)


def _other_fields(entry: AuditEntry) -> list[tuple[str, Any]]:
    rows = []
    for field in AuditEntry._meta.concrete_fields:
        if field.name in AUDIT_COLUMNS:
            continue
        value = field.value_from_object(entry)
        if isinstance(value, dict | list):
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        rows.append((str(field.verbose_name), value))
    return rows


@login_required
@permission_required("socapp.view_auditentry", raise_exception=True)
def audit_log_page(request: HttpRequest) -> HttpResponse:
    """The audit log for auditors and SOC admins: filters by actor, action, object and
    time; newest first, 50 a page, keyset-paginated on the sequence number (``before``),
    so the thousandth page costs what the first does."""
    params = request.GET.copy()
    before = params.pop("before", [""])[-1]
    filters = AuditEntryFilterSet(params, queryset=audit_log())
    entries = filters.qs if filters.is_valid() else AuditEntry.objects.none()
    if before.isdigit():
        entries = entries.filter(seq__lt=int(before))
    rows = list(entries[: AUDIT_PAGE + 1])
    page = rows[:AUDIT_PAGE]
    context = {
        "filters": filters,
        "entries": [(entry, _other_fields(entry)) for entry in page],
        "older": page[-1].seq if len(rows) > AUDIT_PAGE else None,
        "query_string": params.urlencode(),
        "paged": bool(before),
    }
    return render(
        request, "socapp/audit_log.html", context, status=200 if filters.is_valid() else 400
    )
