"""Reading findings. A finding is seen by whoever sees its asset (analysts: their teams'
assets and those of no team; managers, admins, auditors, integrations: all)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet

from ..models import VulnerabilityFinding

MAX_MATCH_ROWS = 1_000  # an alert batch's lookup reads at most this many findings

SCANNER_NAMES = {"nessus": "Nessus", "openvas": "OpenVAS", "csv": "CSV"}


def findings_visible_to(user: Any) -> QuerySet[VulnerabilityFinding]:
    findings = VulnerabilityFinding.objects.select_related("asset")
    if user.is_superuser or user.has_perm("assets.view_all_assets"):
        return findings
    return findings.filter(Q(asset__team__isnull=True) | Q(asset__team__in=user.teams.values("pk")))


@dataclass(frozen=True)
class OpenFinding:
    """What an alert records of the finding that raised it."""

    asset_id: str
    cve: str
    cvss_score: Decimal | None
    scanner: str
    plugin_id: str
    plugin_name: str
    port: int
    protocol: str

    def describe(self) -> str:
        """ "CVSS 10.0, Nessus plugin 156014, port 8080" """
        parts = [f"CVSS {self.cvss_score}"] if self.cvss_score is not None else []
        scanner = SCANNER_NAMES.get(self.scanner, self.scanner)
        if self.plugin_id:
            parts.append(f"{scanner} plugin {self.plugin_id}")
        else:
            parts.append(scanner)
        if self.port:
            parts.append(f"port {self.port}")
        return ", ".join(parts)

    def as_details(self) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "cve": self.cve,
            "cvss": str(self.cvss_score) if self.cvss_score is not None else None,
            "scanner": self.scanner,
            "plugin_id": self.plugin_id,
            "plugin_name": self.plugin_name[:200],
            "port": self.port,
            "protocol": self.protocol,
        }


def open_findings_for(
    asset_ids: Iterable[str], cves: Iterable[str]
) -> dict[tuple[str, str], OpenFinding]:
    """The open finding with the highest CVSS for each (asset, CVE) among these: one
    query, at most ``MAX_MATCH_ROWS`` rows."""
    assets, wanted = sorted(set(asset_ids)), sorted(set(cves))
    if not assets or not wanted:
        return {}
    rows = (
        VulnerabilityFinding.objects.filter(
            asset_id__in=assets, cve__in=wanted, status=VulnerabilityFinding.Status.OPEN
        )
        .order_by("asset_id", "cve", F("cvss_score").desc(nulls_last=True))
        .values_list(
            "asset_id",
            "cve",
            "cvss_score",
            "scanner",
            "plugin_id",
            "plugin_name",
            "port",
            "protocol",
        )[:MAX_MATCH_ROWS]
    )
    found: dict[tuple[str, str], OpenFinding] = {}
    for asset_id, cve, cvss, scanner, plugin_id, plugin_name, port, protocol in rows:
        found.setdefault(
            (str(asset_id), cve),
            OpenFinding(str(asset_id), cve, cvss, scanner, plugin_id, plugin_name, port, protocol),
        )
    return found
