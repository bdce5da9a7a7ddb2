"""The period of a SOC summary: whole days, ``since`` to ``until`` inclusive.

Dates rather than timestamps because a summary is read by people ("1 to 8 November"),
and the day boundaries are the site's TIME_ZONE (UTC by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

DEFAULT_DAYS = 7
MAX_DAYS = 366  # a year, leap day included; longer reads get slow and unreadable
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # inclusive

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.since, time.min))

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after ``until``."""
        return timezone.make_aware(datetime.combine(self.until + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def __str__(self) -> str:
        return f"{self.since.isoformat()}-{self.until.isoformat()}"


class PeriodForm(forms.Form):
    """since/until as YYYY-MM-DD; either may be left out (the last 7 days by default)."""

    since = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    until = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        until = data.get("until") or timezone.localdate()
        since = data.get("since") or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            raise forms.ValidationError("The period must not end before it starts.")
        # Bounds keep the datetimes computable (9999-12-31 + 1 day overflows) and sane.
        if since < EARLIEST or until > timezone.localdate() + timedelta(days=1):
            raise forms.ValidationError(
                f"The period must lie between {EARLIEST.isoformat()} and today."
            )
        if (until - since).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"A summary covers at most {MAX_DAYS} days.")
        data["period"] = Period(since, until)
        return data

    def error_text(self) -> str:
        return " ".join(
            f"{'' if name == '__all__' else name + ': '}{' '.join(str(m) for m in messages)}"
            for name, messages in self.errors.items()
        )


def default_period() -> Period:
    form = PeriodForm({})
    form.is_valid()
    return form.cleaned_data["period"]
