import ipaddress

from django.contrib import admin
from django.db.models import Q

from socapp.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin

from .models import Event, EventAttribute, EventType, Source


@admin.register(Source)
class SourceAdmin(AuditedModelAdmin):
    list_display = ["name", "source_type", "format", "team", "is_active", "last_seen", "created_at"]
    list_filter = ["source_type", "format", "is_active", "team"]
    search_fields = ["name", "description", "ip_address"]
    readonly_fields = ["last_seen", "created_at", "updated_at"]
    list_select_related = ["team"]


@admin.register(EventType)
class EventTypeAdmin(AuditedModelAdmin):
    list_display = ["name", "category", "severity_default", "created_at"]
    list_filter = ["category", "severity_default"]
    search_fields = ["name", "description"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Events are evidence: readable in the admin, never edited there."""

    list_display = [
        "event_time",
        "event_type",
        "source",
        "source_ip",
        "source_port",
        "dest_ip",
        "dest_port",
        "protocol",
    ]
    # Only filters answered from small tables or indexes: a DISTINCT over a column of
    # the events table (what a plain field filter asks for) would scan every partition.
    list_filter = [("event_time", admin.DateFieldListFilter), "source"]
    search_fields = ["event_type"]
    search_help_text = "An IP address (source or destination) or an exact event type."
    list_select_related = ["source"]
    show_full_result_count = False  # an exact count of a partitioned table is slow
    list_per_page = 50

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            ipaddress.ip_address(term)
        except ValueError:
            return queryset.filter(event_type=term), False
        return queryset.filter(Q(source_ip=term) | Q(dest_ip=term)), False


@admin.register(EventAttribute)
class EventAttributeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "value", "data_type", "event_id", "event_time"]
    list_filter = ["data_type"]
    search_fields = ["name"]
    show_full_result_count = False
