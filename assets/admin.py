from django.contrib import admin

from socapp.admin_mixins import AuditedModelAdmin

from .models import Asset, AssetType


@admin.register(AssetType)
class AssetTypeAdmin(AuditedModelAdmin):
    list_display = ["name", "description", "created_at"]
    search_fields = ["name", "description"]


@admin.register(Asset)
class AssetAdmin(AuditedModelAdmin):
    list_display = [
        "name",
        "asset_type",
        "ip_address",
        "hostname",
        "operating_system",
        "is_critical",
        "team",
        "updated_at",
    ]
    list_filter = ["asset_type", "is_critical", "team"]
    search_fields = ["name", "hostname", "ip_address", "mac_address", "operating_system"]
    list_select_related = ["asset_type", "team"]
