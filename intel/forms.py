"""The console's feed form (SOC admins) and import form (who may import). The services
(``feeds.feed_save``, ``services.intel_import``) check what needs the database or the
network; these read what was typed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings

from .choices import FeedFormat, IntelType, IocType, Tlp
from .feeds import OPTIONS, SETTINGS
from .imports import FILE_FORMATS
from .models import ThreatIntel

POLL_MINUTES_MAX = 7 * 24 * 60
SECRET = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
_BLANK = [("", "—")]


class FeedForm(forms.Form):
    source_name = forms.CharField(label="Name", max_length=255)
    provider = forms.CharField(max_length=255, required=False)
    description = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3, "cols": 50})
    )
    intel_type = forms.ChoiceField(label="Kind", choices=IntelType.choices)
    feed_format = forms.ChoiceField(
        label="Format",
        required=False,
        choices=_BLANK + list(FeedFormat.choices),
    )
    url = forms.URLField(
        label="URL",
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text="TAXII: the collection, an API root or the discovery URL.",
    )
    collection = forms.CharField(
        required=False, max_length=255, help_text="TAXII: the collection's id or title."
    )
    mapping = forms.CharField(
        label="CSV mapping",
        required=False,
        max_length=500,
        help_text="field=column pairs, e.g. value=indicator,type=kind",
    )
    type = forms.ChoiceField(
        label="Indicator type", required=False, choices=_BLANK + list(IocType.choices),
        help_text="CSV or list: one type for every row.",
    )  # fmt: skip
    tlp = forms.ChoiceField(label="TLP", choices=Tlp.choices, initial=Tlp.AMBER)
    confidence_score = forms.FloatField(
        label="Confidence", min_value=0.0, max_value=1.0, initial=0.5
    )
    poll_minutes = forms.IntegerField(
        label="Poll every (minutes)", required=False, min_value=1, max_value=POLL_MINUTES_MAX,
        help_text="Empty: never polled on a schedule.",
    )  # fmt: skip
    is_active = forms.BooleanField(label="Active", required=False, initial=True)
    valid_from = forms.DateTimeField(required=False)
    valid_until = forms.DateTimeField(required=False)
    username = forms.CharField(required=False, max_length=255, widget=SECRET)
    password = forms.CharField(required=False, max_length=1000, widget=SECRET)
    api_key = forms.CharField(label="API key", required=False, max_length=1000, widget=SECRET)
    clear_credentials = forms.BooleanField(required=False, label="Remove the stored credentials")

    def data_for_service(self) -> dict[str, Any]:
        data = self.cleaned_data
        minutes = data.get("poll_minutes")
        fields = {name: data[name] for name in (*SETTINGS, *OPTIONS) if name in data}
        fields["poll_interval"] = timedelta(minutes=minutes) if minutes else None
        return fields

    def credentials(self) -> dict[str, Any] | None:
        """New credentials, {} to clear them, None to keep what is stored (the form
        never shows them, so empty boxes mean "unchanged")."""
        data = self.cleaned_data
        if data.get("clear_credentials"):
            return {}
        given = {name: data[name] for name in ("username", "password", "api_key") if data.get(name)}
        return given or None


def feed_initial(feed: ThreatIntel) -> dict[str, Any]:
    options = feed.metadata if isinstance(feed.metadata, dict) else {}
    interval = feed.poll_interval
    return {
        **{name: getattr(feed, name) for name in SETTINGS if name != "poll_interval"},
        **{name: options.get(name, "") for name in OPTIONS},
        "poll_minutes": int(interval.total_seconds() // 60) if interval else None,
    }


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(choices=[(f.value, f.label) for f in FILE_FORMATS])
    feed = forms.CharField(
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"list": "feed-names"}),
        help_text='Empty: the "imports" feed.',
    )
    mapping = forms.CharField(
        label="CSV mapping", required=False, max_length=500,
        help_text="field=column pairs, e.g. value=indicator,type=kind",
    )  # fmt: skip
    type = forms.ChoiceField(
        label="Indicator type", required=False, choices=_BLANK + list(IocType.choices),
        help_text="CSV or list: one type for every row.",
    )  # fmt: skip

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.INTEL_IMPORT_MAX_BYTES
        if upload.size is not None and upload.size > limit:
            raise forms.ValidationError(f"The file is larger than {limit:,} bytes.")
        return upload
