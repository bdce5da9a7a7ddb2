"""Reports: an incident's report and the periodic SOC summary, as PDF or CSV.

``data``/``summary`` gather what a report shows (through the selectors), ``pdf`` and
``csv`` lay it out, and the two functions here are what pages and the API call: they
render and write the audit entry, because a report carries case data out of the system.
"""

from __future__ import annotations

from dataclasses import dataclass

from socapp.audit import audit_record
from socapp.users import User

from ..models import Incident
from .csv import render_csv
from .data import Report, incident_report
from .pdf import render_pdf
from .period import Period, PeriodForm, default_period
from .summary import soc_summary

__all__ = [
    "FORMATS",
    "Period",
    "PeriodForm",
    "ReportFile",
    "default_period",
    "incident_report_file",
    "soc_summary_file",
]

FORMATS = {"pdf": ("application/pdf", render_pdf), "csv": ("text/csv; charset=utf-8", render_csv)}


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    filename: str
    content_type: str


def _render(report: Report, fmt: str) -> ReportFile:
    content_type, render = FORMATS[fmt]
    return ReportFile(render(report), f"{report.filename_stem}.{fmt}", content_type)


def incident_report_file(
    *, actor: User, incident: Incident, fmt: str, remote_addr: str | None = None
) -> ReportFile:
    """``incident`` must be one ``actor`` may see (incidents_visible_to / incident_detail)."""
    file = _render(incident_report(reader=actor, incident=incident), fmt)
    audit_record(
        actor=actor,
        action="report.incident_download",
        target=incident,
        changes={"format": fmt, "file": file.filename},
        remote_addr=remote_addr,
    )
    return file


def soc_summary_file(
    *, actor: User, period: Period, fmt: str, remote_addr: str | None = None
) -> ReportFile:
    file = _render(soc_summary(reader=actor, period=period), fmt)
    audit_record(
        actor=actor,
        action="report.summary_download",
        changes={"format": fmt, "since": period.since, "until": period.until},
        remote_addr=remote_addr,
    )
    return file
