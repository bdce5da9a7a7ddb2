"""The inventory events are enriched with: which host an IP or hostname belongs to,
what kind of machine it is, and whether it is critical."""

from __future__ import annotations

import uuid

from django.db import models


class AssetType(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    attributes_schema = models.JSONField(
        default=dict, blank=True, help_text="JSON Schema of the metadata assets of this type carry."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "asset_types"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Asset(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    asset_type = models.ForeignKey(AssetType, on_delete=models.PROTECT, related_name="assets")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    mac_address = models.CharField(max_length=17, blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    operating_system = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    is_critical = models.BooleanField(default=False)
    team = models.ForeignKey(
        "socapp.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="assets"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "assets"
        ordering = ["name"]
        indexes = [
            # Enrichment looks up the asset behind an event's source or destination IP.
            models.Index(fields=["ip_address"], name="assets_ip_idx"),
            # Enrichment by host.name, and the host entity page.
            models.Index(fields=["hostname"], name="assets_hostname_idx"),
        ]

    def __str__(self) -> str:
        return self.name
