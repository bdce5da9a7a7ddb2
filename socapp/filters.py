"""Filter fields whose values are checked before they reach the database, and the audit
log's FilterSet (one for the API, ``/api/v1/audit/``, and the page).

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
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.fields import IsoDateTimeField

from .models import AuditEntry, SavedView
from .timerange import ANY, CUSTOM, TimeRangeError, parse_relative

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


class RelativeRangeField(forms.CharField):
    """A relative range as socapp/timerange.py reads it (``24h``, ``now-6h``), made
    canonical; ``custom`` (the picker's "from … to …") passes, for since/until to apply, and
    ``any`` (any time) too."""

    def to_python(self, value: Any) -> str:
        text = str(super().to_python(value)).strip()
        if text in ("", CUSTOM, ANY):
            return text
        try:
            return parse_relative(text)[0]
        except TimeRangeError as exc:
            raise forms.ValidationError(exc.message, code="invalid") from None


class RelativeRangeFilter(django_filters.CharFilter):
    """``field_name`` within the last N minutes, hours, days or weeks."""

    field_class = RelativeRangeField

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if value in ("", CUSTOM, ANY):
            return qs
        since = timezone.now() - parse_relative(value)[1]
        return qs.filter(**{f"{self.field_name}__gte": since})


class IPAddressFilter(django_filters.CharFilter):
    """An IPv4 or IPv6 address (an ``inet`` column); anything else is a 400."""

    field_class = forms.GenericIPAddressField


class AuditEntryFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(
        field_name="actor_name", help_text="The acting user's username (as it was then)."
    )
    action = django_filters.CharFilter(
        method="filter_action",
        help_text='An action ("incident.assign"), or all actions under a prefix ending in a '
        'dot ("incident.").',
    )
    object_type = django_filters.CharFilter(
        help_text='The object\'s kind, "app_label.model": "incidents.incident".'
    )
    object_id = django_filters.CharFilter(help_text="The object's primary key.")
    since = DateTimeFilter(
        field_name="at", lookup_expr="gte", help_text="At or after this moment (ISO 8601)."
    )
    until = DateTimeFilter(
        field_name="at", lookup_expr="lt", help_text="Before this moment (ISO 8601)."
    )

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "object_type", "object_id", "since", "until"]

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value.endswith("."):
            return queryset.filter(action__startswith=value)
        return queryset.filter(action=value)


class SavedViewFilterSet(django_filters.FilterSet):
    # Not "page": that is the page number of the list (?page=2).
    view_of = django_filters.ChoiceFilter(
        field_name="page",
        choices=[(p.value, p.label) for p in (SavedView.Page.ALERTS, SavedView.Page.EVENTS)],
        help_text="The views of one page: alerts (the alert queue) or events (event search).",
    )
    shared = django_filters.BooleanFilter()

    class Meta:
        model = SavedView
        fields = ["view_of", "shared"]
