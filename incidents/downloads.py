"""Files handed to a browser or an API client, for the pages and the API alike: evidence
and reports, always as attachments that can never render in socapp's origin."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header

from socapp.users import User

from . import services


def evidence_response(evidence: Any, actor: User) -> FileResponse:
    """An evidence file, always as a download: an HTML file an attacker planted must
    never render in our origin (octet-stream, nosniff, and a sandbox should it open)."""
    try:
        handle = services.evidence_open(evidence=evidence, actor=actor)
    except FileNotFoundError as exc:
        raise Http404("The file of this evidence is missing from the evidence store.") from exc
    response = FileResponse(
        handle, as_attachment=True, filename=evidence.name, content_type="application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def report_download(file: Any) -> HttpResponse:
    """A report (incidents.reports.ReportFile) as an attachment, never rendered inline
    nor kept by a shared cache."""
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = content_disposition_header(True, file.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
