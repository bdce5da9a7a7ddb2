"""Pages of the events app."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .files import file_ingest
from .forms import UploadForm


@permission_required("events.add_ingestbatch", raise_exception=True)
def upload(request: HttpRequest) -> HttpResponse:
    """Upload a log file into a source: the same path as `manage.py ingest`."""
    report = None
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        report = file_ingest(
            source=form.cleaned_data["source"],
            name=upload_file.name,
            data=upload_file.read(),
            log_format=form.cleaned_data["log_format"] or None,
            transport="upload",
        )
    return render(
        request,
        "events/upload.html",
        {"form": form, "report": report},
        status=400 if form.errors else 200,
    )
