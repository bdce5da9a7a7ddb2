"""The audit log's filters: one FilterSet for the API (``/api/v1/audit/``) and the page."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from .models import AuditEntry


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
    since = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="gte", help_text="At or after this moment (ISO 8601)."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="lt", help_text="Before this moment (ISO 8601)."
    )

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "object_type", "object_id", "since", "until"]

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value.endswith("."):
            return queryset.filter(action__startswith=value)
        return queryset.filter(action=value)
