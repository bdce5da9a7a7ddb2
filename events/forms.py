from django import forms
from django.conf import settings

from .choices import LogFormat
from .models import Source


class UploadForm(forms.Form):
    source = forms.ModelChoiceField(
        queryset=Source.objects.filter(is_active=True), help_text="The source the events belong to."
    )
    log_format = forms.ChoiceField(
        choices=[("", "The source's format"), *LogFormat.choices],
        required=False,
        label="Format",
    )
    file = forms.FileField(help_text="A log file, .gz, .zip, .jsonl/.json or .evtx.")

    def clean_file(self):  # type: ignore[no-untyped-def]
        upload = self.cleaned_data["file"]
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB; use "
                "`manage.py ingest` for files this size."
            )
        return upload
