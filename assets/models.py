"""The inventory events and alerts are enriched with: which machine an address, host name
or MAC belongs to, what kind of machine it is, who owns it and how much it matters.

An asset has several addresses, names and MACs (a server with two interfaces, a laptop
on wired and wireless), kept canonical by ``assets.normalize`` so that lookups are plain
equality: IPs in their compressed form, host names lower-case without a trailing dot,
MACs as ``aa:bb:cc:dd:ee:ff``.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Lower

from .choices import Criticality

# Bounds on what one asset may carry (the API, the CSV import and the admin all check them).
MAX_ADDRESSES = 32
MAX_TAGS = 32
MAX_TAG_LENGTH = 64
MAX_HOSTNAME_LENGTH = 253  # a DNS name's limit


class AssetType(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    attributes_schema = models.JSONField(
        default=dict,
        blank=True,
        help_text="JSON Schema of the attributes assets of this type carry.",
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
    ip_addresses = ArrayField(
        models.GenericIPAddressField(), size=MAX_ADDRESSES, default=list, blank=True
    )
    mac_addresses = ArrayField(
        models.CharField(max_length=17), size=MAX_ADDRESSES, default=list, blank=True
    )
    hostnames = ArrayField(
        models.CharField(max_length=MAX_HOSTNAME_LENGTH),
        size=MAX_ADDRESSES,
        default=list,
        blank=True,
    )
    operating_system = models.CharField(max_length=255, blank=True)
    owner = models.CharField(max_length=255, blank=True, help_text="Who answers for it.")
    team = models.ForeignKey(
        "socapp.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="assets"
    )
    criticality = models.CharField(
        max_length=10, choices=Criticality.choices, default=Criticality.MEDIUM
    )
    tags = ArrayField(
        models.CharField(max_length=MAX_TAG_LENGTH), size=MAX_TAGS, default=list, blank=True
    )
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Checked against the asset type's schema."
    )
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "assets"
        ordering = ["name"]
        permissions = [
            ("view_all_assets", "View every team's assets"),
            # Without it (integrations), a role writes only its teams' assets and those
            # of no team, and gives an asset only to one of its teams.
            ("manage_all_assets", "Create, change and delete every team's assets"),
        ]
        constraints = [
            # The CSV import and the API find an asset again by its name.
            models.UniqueConstraint(Lower("name"), name="assets_name_unique_ci"),
        ]
        indexes = [
            # "Which asset has this address / name / MAC": the entity page, the asset
            # filter, discovery's "not in inventory" (array containment uses GIN).
            GinIndex(fields=["ip_addresses"], name="assets_ips_gin"),
            GinIndex(fields=["hostnames"], name="assets_hostnames_gin"),
            GinIndex(fields=["mac_addresses"], name="assets_macs_gin"),
            # The inventory version check reads the newest change.
            models.Index(fields=["updated_at"], name="assets_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class DiscoveredHost(models.Model):
    """An address or host name seen in events that no asset claims ("seen, not in
    inventory"). Kept by a periodic task, bounded in rows (``ASSETS_DISCOVERY_MAX_ROWS``)."""

    class Kind(models.TextChoices):
        IP = "ip", "IP address"
        HOST = "host", "Host name"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=4, choices=Kind.choices)
    value = models.CharField(max_length=MAX_HOSTNAME_LENGTH)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    event_count = models.BigIntegerField(default=0)

    class Meta:
        db_table = "assets_discovered_hosts"
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="discovered_host_once"),
        ]
        indexes = [models.Index(fields=["last_seen"], name="discovered_last_seen_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class DiscoveryCursor(models.Model):
    """Where discovery's last scan of the events ended (one row): each run reads only
    the events stored since."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    scanned_until = models.DateTimeField()

    class Meta:
        db_table = "assets_discovery_cursor"

    def __str__(self) -> str:
        return f"scanned until {self.scanned_until:%Y-%m-%d %H:%M}"


class VulnerabilityFinding(models.Model):
    """One scanner's finding on an asset: a plugin (Nessus) or NVT (OpenVAS) that fired
    on a port, for one CVE (a plugin naming three CVEs is three findings; one naming
    none is a finding with an empty ``cve``). Imports find it again by
    (asset, scanner, plugin, port, protocol, cve) and move ``last_seen``; a newer full
    scan of the host without it marks it fixed (docs/ASSETS.md, "Vulnerabilities")."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FIXED = "fixed", "Fixed"

    class Level(models.TextChoices):
        INFO = "info", "Informational"
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    id = models.BigAutoField(primary_key=True)
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="findings")
    scanner = models.CharField(max_length=40, help_text="nessus, openvas, or a CSV's name")
    plugin_id = models.CharField(
        max_length=100, blank=True, help_text="Nessus plugin id, OpenVAS NVT OID"
    )
    plugin_name = models.CharField(max_length=500, blank=True)
    port = models.PositiveIntegerField(default=0, help_text="0: the host, no port")
    protocol = models.CharField(max_length=10, blank=True)
    cve = models.CharField(max_length=24, blank=True)
    cvss_score = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    cvss_vector = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10, choices=Level.choices, default=Level.MEDIUM)
    status = models.CharField(max_length=5, choices=Status.choices, default=Status.OPEN)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    fixed_at = models.DateTimeField(null=True, blank=True)
    evidence = models.TextField(blank=True, help_text="The scanner's output, cut short.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "assets_vulnerability_findings"
        ordering = ["-cvss_score", "-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "scanner", "plugin_id", "port", "protocol", "cve"],
                name="vuln_finding_once",
            ),
        ]
        indexes = [
            # Cross-correlation: "does this asset have an open finding for this CVE".
            models.Index(fields=["cve", "status"], name="vuln_cve_status_idx"),
            models.Index(fields=["asset", "status"], name="vuln_asset_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.cve or self.plugin_id} on {self.asset_id}"
