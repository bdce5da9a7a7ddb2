from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import QueryDict

from socapp.timerange import MOMENT_MAX_CHARS, PARAMS, TimeRangeError, time_range_from

from .choices import LogFormat
from .models import Source
from .search import QueryError, compile_query, parse


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


class SearchForm(forms.Form):
    """An event search: the query and its time range (socapp/timerange.py: ``range=24h``,
    ``last=6h``, or ``since``/``until`` read in the user's zone; 24 hours by default)."""

    q = forms.CharField(required=False, max_length=2000, label="Query")
    range = forms.CharField(required=False, max_length=40)
    last = forms.CharField(required=False, max_length=40)
    since = forms.CharField(required=False, max_length=MOMENT_MAX_CHARS, label="From")
    until = forms.CharField(required=False, max_length=MOMENT_MAX_CHARS, label="To")
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if any(name in self.errors for name in PARAMS):
            return data
        try:
            chosen = time_range_from(data, default="24h")
        except TimeRangeError as exc:
            self.add_error(exc.field, exc.message)
            return data
        assert chosen is not None  # a default is given
        data["time_range"] = chosen
        data["since"], data["until"] = chosen.since, chosen.until
        return data


def search_query_problems(params: QueryDict) -> list[str]:
    """What the search page would say of a saved search's query string (its form, then
    its query language), or [] if it searches: the check of socapp.saved_views."""
    form = SearchForm(params)
    if not form.is_valid():
        return [f"{field}: {' '.join(map(str, errors))}" for field, errors in form.errors.items()]
    try:
        compile_query(parse(form.cleaned_data["q"]))
    except QueryError as exc:
        return [f"q: {exc}"]
    return []
