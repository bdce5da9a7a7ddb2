"""Filter fields whose values are checked before they reach the database.

A value PostgreSQL would refuse must be a 400 naming the parameter, not a database error:
``?ip_address=garbage`` against an ``inet`` column, or a timestamp whose offset is beyond
what ``timestamptz`` accepts (±15:59; Python takes up to ±23:59). Timestamps are turned
into UTC here, so no offset ever reaches the database, and one whose UTC form falls
outside the years 1..9999 is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

OUT_OF_RANGE = "This moment is out of range."


class UtcDateTimeField(IsoDateTimeField):
    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(
                self.error_messages["out_of_range"], code="out_of_range"
            ) from None


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601, turned into UTC; an invalid or out-of-range one is a 400."""

    field_class = UtcDateTimeField


class IPAddressFilter(django_filters.CharFilter):
    """An IPv4 or IPv6 address (an ``inet`` column); anything else is a 400."""

    field_class = forms.GenericIPAddressField
