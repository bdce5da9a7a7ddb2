from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils import timezone

from .choices import LogFormat
from .models import Source


class UploadForm(forms.Form):
    source = forms.ModelChoiceField(
        queryset=Source.objects.none(),
        help_text="The source the events belong to.",
        error_messages={
            "invalid_choice": "Choose an active source of one of your teams; events cannot "
            "be sent into another team's source."
        },
    )
    log_format = forms.ChoiceField(
        choices=[("", "The source's format"), *LogFormat.choices],
        required=False,
        label="Format",
    )
    file = forms.FileField(help_text="A log file, .gz, .zip, .jsonl/.json or .evtx.")

    def __init__(self, *args: Any, sources: QuerySet[Source], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Both the choices shown and the ones accepted: a posted id outside them is refused.
        field = self.fields["source"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = sources

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB; use "
                "`manage.py ingest` for files this size."
            )
        return upload


SEARCH_RANGES = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


class SearchForm(forms.Form):
    """An event search: the query and its time range (a preset, or from/to)."""

    q = forms.CharField(required=False, max_length=2000, label="Query")
    range = forms.ChoiceField(
        choices=[(k, f"last {k}") for k in SEARCH_RANGES] + [("custom", "from … to …")],
        required=False,
        initial="24h",
    )
    since = forms.DateTimeField(required=False, label="From")
    until = forms.DateTimeField(required=False, label="To")
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        now = timezone.now()
        preset = data.get("range") or "24h"
        if preset == "custom":
            data["since"] = data.get("since") or now - SEARCH_RANGES["24h"]
            data["until"] = data.get("until") or now
        else:
            data["since"], data["until"] = now - SEARCH_RANGES[preset], now
        if data["since"] >= data["until"]:
            raise forms.ValidationError("The range must start before it ends.")
        return data
