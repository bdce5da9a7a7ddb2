from django.contrib import admin
from django.db import models

from socapp.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin

from .models import IOC, IocMatch, IocSighting, RetroHunt, ThreatIntel


@admin.register(ThreatIntel)
class ThreatIntelAdmin(AuditedModelAdmin):
    list_display = [
        "source_name",
        "intel_type",
        "confidence_score",
        "is_active",
        "valid_from",
        "valid_until",
        "created_at",
    ]
    list_filter = ["intel_type", "is_active"]
    search_fields = ["source_name", "description", "url"]
    # A URL typed without a scheme is https (the feed form's rule; Django 6's default).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    # Write-only: the console's feed form sets them (intel/feeds.py); the admin's form
    # would show them decrypted to every staff reader, auditors included.
    exclude = ["credentials"]


@admin.register(IOC)
class IOCAdmin(AuditedModelAdmin):
    list_display = [
        "value",
        "ioc_type",
        "status",
        "confidence_score",
        "intel",
        "first_seen",
        "last_seen",
    ]
    list_filter = ["ioc_type", "status", "intel"]
    search_fields = ["value", "description"]
    list_select_related = ["intel"]


@admin.register(IocMatch)
class IocMatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["ioc", "field", "event_time", "event_id", "matched_at"]
    list_filter = ["ioc__ioc_type", "field"]
    search_fields = ["ioc__value", "event_id"]
    list_select_related = ["ioc"]


@admin.register(IocSighting)
class IocSightingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["ioc", "kind", "at", "by", "reference"]
    list_filter = ["kind"]
    search_fields = ["ioc__value", "reference", "note"]
    list_select_related = ["ioc", "by"]


@admin.register(RetroHunt)
class RetroHuntAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "status", "indicator_count", "progress", "matches", "alerts"]
    list_filter = ["status"]
    exclude = ["indicators"]  # up to a whole feed: the count is shown instead
