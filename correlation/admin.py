from django.contrib import admin

from socapp.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin

from .models import BatchPart, Correlation, CorrelationEvent, CorrelationRule, RuleQuarantine


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
    readonly_fields = ["version", "disabled_reason", "created_by", "created_at", "updated_at"]


@admin.register(RuleQuarantine)
class RuleQuarantineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Events on which a rule failed (poison events), with the rule and the error."""

    list_display = ["created_at", "rule", "event_id", "event_time", "error"]
    list_filter = ["rule"]
    search_fields = ["event_id", "error"]
    list_select_related = ["rule"]


@admin.register(BatchPart)
class BatchPartAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Slices of ingest batches split for running over the correlation time budget."""

    list_display = ["batch", "start", "end", "done_at", "note", "created_at"]
    search_fields = ["batch__id", "note"]


class CorrelationEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CorrelationEvent
    fields = readonly_fields = ("event_time", "event_id")
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
