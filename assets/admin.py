from typing import Any

from django.contrib import admin

from socapp.admin_mixins import AuditedModelAdmin

from .index import inventory_changed
from .models import Asset, AssetType, DiscoveredHost, VulnerabilityFinding


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
    """What discovery saw in the events (``events/discovery.py``): the admin shows it,
    never adds a host or edits what was observed. Deleting one dismisses it (audited;
    ``delete_discoveredhost``); adding it to the inventory is the assets pages' asset
    form, which takes the host off this list."""

    list_display = ["kind", "value", "first_seen", "last_seen", "event_count"]
    list_filter = ["kind"]
    search_fields = ["value"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(VulnerabilityFinding)
class VulnerabilityFindingAdmin(AuditedModelAdmin):
    """Findings change only by a scanner import (one audited ``vulnerability.import``
    each): the admin shows them, never adds or edits one. Deleting stays with
    ``delete_vulnerabilityfinding`` (audited) so that deleting an asset, which takes its
    findings with it, works here as in the API."""

    list_display = ["cve", "asset", "severity", "cvss_score", "status", "scanner", "last_seen"]
    list_filter = ["status", "severity", "scanner"]
    search_fields = ["cve", "plugin_id", "plugin_name", "asset__name"]
    list_select_related = ["asset"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
