"""Report downloads: an incident's report (/incidents/<number>/report.pdf|csv) and the
SOC summary (/reports/, /reports/summary.pdf|csv?since=&until=)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from socapp.audit import request_addr
from socapp.users import user_of

from .. import reports
from ..downloads import report_download
from ..reports.period import MAX_DAYS
from ..selectors import incident_detail

VIEW = "incidents.view_incident"


@login_required
@permission_required(VIEW, raise_exception=True)
def incident_report(request: HttpRequest, number: str, fmt: str) -> HttpResponse:
    # The same lookup as the incident's page: not visible means 404, so numbers do not leak.
    incident = incident_detail(user_of(request), number)
    if incident is None:
        raise Http404("No such incident, or not one you may see.")
    file = reports.incident_report_file(
        actor=user_of(request), incident=incident, fmt=fmt, remote_addr=request_addr(request)
    )
    return report_download(file)


def _page(request: HttpRequest, form: reports.PeriodForm, status: int = 200) -> HttpResponse:
    period = form.cleaned_data.get("period") if form.is_valid() else None
    shown = period or reports.default_period()
    context = {
        "period": period,
        "since": request.GET.get("since") or shown.since.isoformat(),
        "until": request.GET.get("until") or shown.until.isoformat(),
        "error": "" if period else form.error_text(),
        "max_days": MAX_DAYS,
    }
    return render(request, "incidents/reports.html", context, status=status)


@login_required
@permission_required(VIEW, raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    form = reports.PeriodForm(request.GET)
    return _page(request, form, status=200 if form.is_valid() else 400)


@login_required
@permission_required(VIEW, raise_exception=True)
def summary(request: HttpRequest, fmt: str) -> HttpResponse:
    form = reports.PeriodForm(request.GET)
    if not form.is_valid():
        # The form again, with what was wrong: a bad date is the reader's to fix.
        return _page(request, form, status=400)
    file = reports.soc_summary_file(
        actor=user_of(request),
        period=form.cleaned_data["period"],
        fmt=fmt,
        remote_addr=request_addr(request),
    )
    return report_download(file)
