from typing import Any

from django.contrib import admin

from socapp.admin_mixins import AuditedModelAdmin

from .index import inventory_changed
from .models import Asset, AssetType, DiscoveredHost


@admin.register(AssetType)
class AssetTypeAdmin(AuditedModelAdmin):
    list_display = ["name", "description", "created_at"]
    search_fields = ["name", "description"]


@admin.register(Asset)
class AssetAdmin(AuditedModelAdmin):
    list_display = ["name", "asset_type", "criticality", "owner", "team", "updated_at"]
    list_filter = ["asset_type", "criticality", "team"]
    search_fields = ["name", "owner", "operating_system"]
    list_select_related = ["asset_type", "team"]

    # The inventory map of every process must rebuild after an admin's change too.
    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        inventory_changed()

    def delete_model(self, request: Any, obj: Any) -> None:
        super().delete_model(request, obj)
        inventory_changed()


@admin.register(DiscoveredHost)
class DiscoveredHostAdmin(AuditedModelAdmin):
    list_display = ["kind", "value", "first_seen", "last_seen", "event_count"]
    list_filter = ["kind"]
    search_fields = ["value"]
