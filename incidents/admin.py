from django.contrib import admin
from guardian.admin import GuardedModelAdminMixin

from socapp.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin

from .models import (
    Alert,
    AlertMute,
    CaseTemplate,
    Evidence,
    Incident,
    IncidentEvent,
    ResponseAction,
    Severity,
)


@admin.register(Severity)
class SeverityAdmin(AuditedModelAdmin):
    list_display = ["name", "level", "color_code", "description"]
    search_fields = ["name", "description"]


@admin.register(Alert)
class AlertAdmin(AuditedModelAdmin):
    list_display = [
        "title",
        "severity",
        "status",
        "team",
        "assignee",
        "rule",
        "count",
        "triggered_at",
        "last_seen_at",
    ]
    list_filter = ["status", "severity", "team", "close_reason"]
    search_fields = ["title", "description", "group_key"]
    list_select_related = ["severity", "team", "assignee", "rule"]
    raw_id_fields = ["correlation", "rule", "incident", "muted_by"]
    date_hierarchy = "triggered_at"


class IncidentEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = IncidentEvent
    fields = ["created_at", "kind", "actor", "data"]
    readonly_fields = fields
    extra = 0


@admin.register(Incident)
class IncidentAdmin(GuardedModelAdminMixin, AuditedModelAdmin):
    """Incidents; "Object permissions" (django-guardian) shares one with a user or role."""

    list_display = [
        "number",
        "title",
        "status",
        "priority",
        "tlp",
        "team",
        "assigned_to",
        "created_at",
        "resolved_at",
    ]
    list_filter = ["status", "priority", "tlp", "team"]
    search_fields = ["number", "title", "description"]
    list_select_related = ["team", "assigned_to"]
    readonly_fields = ["number", "created_by", "created_at", "updated_at"]
    inlines = [IncidentEventInline]


@admin.register(ResponseAction)
class ResponseActionAdmin(AuditedModelAdmin):
    list_display = [
        "incident",
        "action_type",
        "status",
        "requested_by",
        "performed_by",
        "performed_at",
        "created_at",
    ]
    list_filter = ["action_type", "status"]
    search_fields = ["incident__number", "description"]
    list_select_related = ["incident", "requested_by", "performed_by"]
    raw_id_fields = ["incident"]


@admin.register(IncidentEvent)
class IncidentEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["incident", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["incident__number"]
    list_select_related = ["incident", "actor"]


@admin.register(CaseTemplate)
class CaseTemplateAdmin(AuditedModelAdmin):
    """The first tasks of a new incident, per type: a JSON list of {title, description}."""

    list_display = ["name", "incident_type", "is_active"]
    list_filter = ["is_active"]


@admin.register(AlertMute)
class AlertMuteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Mutes are made and lifted by analysts in the console (audited there)."""

    list_display = ["__str__", "team", "reason", "created_by", "expires_at", "lifted_at"]
    list_filter = ["team"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "incident", "size", "sha256", "uploaded_by", "uploaded_at"]
    search_fields = ["name", "sha256", "incident__number"]
