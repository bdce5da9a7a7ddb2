from django.contrib import admin

from socapp.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin

from .models import Correlation, CorrelationEvent, CorrelationRule


@admin.register(CorrelationRule)
class CorrelationRuleAdmin(AuditedModelAdmin):
    list_display = [
        "name",
        "rule_type",
        "level",
        "status",
        "is_active",
        "time_window",
        "threshold",
        "team",
        "version",
        "updated_at",
    ]
    list_filter = ["rule_type", "level", "status", "is_active", "team"]
    search_fields = ["name", "description", "sigma_id"]
    readonly_fields = ["version", "created_by", "created_at", "updated_at"]


class CorrelationEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CorrelationEvent
    fields = ["event_time", "event_id"]
    readonly_fields = fields
    extra = 0


@admin.register(Correlation)
class CorrelationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "rule",
        "start_time",
        "end_time",
        "event_count",
        "confidence_score",
        "created_at",
    ]
    list_filter = ["rule"]
    search_fields = ["name"]
    list_select_related = ["rule"]
    inlines = [CorrelationEventInline]
