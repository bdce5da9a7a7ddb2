"""Importing a scanner report: findings on the inventory's assets, in one transaction.

Each observation's host is found in the inventory map by address, then host name; a
host the inventory does not know is skipped with its reason (scanners see what the
inventory should hold: an unknown host is for the inventory's owner to add, not for an
import to invent). A finding is found again by (asset, scanner, plugin, port,
protocol, CVE): seeing it again moves ``last_seen``; a full scan (Nessus, OpenVAS) of a
host that no longer reports an open finding of the same scanner, at a time after the
finding was last seen, marks it fixed; a fixed finding seen again by a later scan is
open again. Reports may arrive out of order: each is dated by its own scan times, and
an older one never undoes what a newer one said. docs/ASSETS.md, "Vulnerabilities".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from socapp.audit import audit_record
from socapp.users import User

from .. import normalize
from ..index import AssetRef, InventoryIndex, current
from ..models import VulnerabilityFinding
from ..services import writable_team_ids
from . import nessus, openvas, tabular
from .base import MAX_REASONS, Limits, Observation, Report, ReportRefused, ScannedHost

FORMATS = ("nessus", "openvas", "csv")
Key = tuple[str, str, str, int, str, str]  # asset id, scanner, plugin, port, protocol, cve
DETAIL_FIELDS = ("plugin_name", "cvss_score", "cvss_vector", "severity", "evidence")


@dataclass
class VulnImportResult:
    format: str
    scanner: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    fixed: int = 0
    skipped: int = 0
    informational: int = 0
    reasons: list[dict[str, str]] = field(default_factory=list)

    def skip(self, where: str, reason: str, count: int = 1) -> None:
        self.skipped += count
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append({"where": where[:100], "reason": reason[:300]})

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_report(fmt: str, data: bytes, limits: Limits | None = None) -> Report:
    limits = limits or Limits()
    if fmt == "nessus":
        return nessus.parse(data, limits)
    if fmt == "openvas":
        return openvas.parse(data, limits)
    if fmt == "csv":
        return tabular.parse(data, limits)
    raise ReportRefused(f"Unknown format {fmt[:40]!r}: one of {', '.join(FORMATS)}.")


def _asset_of(index: InventoryIndex, ip: str | None, name: str | None) -> AssetRef | None:
    for value, table, canonical in (
        (ip, index.by_ip, normalize.ip),
        (name, index.by_host, normalize.hostname),
        (ip, index.by_host, normalize.hostname),  # a CSV's one host column may be a name
    ):
        if not value:
            continue
        try:
            ref = table.get(canonical(value))
        except ValueError:
            continue
        if ref is not None:
            return ref
    return None


def _host_key(ip: str | None, name: str | None) -> str:
    return ip or name or "?"


class _Import:
    """One import's state: the report, the assets it resolved to, the findings known."""

    def __init__(
        self, report: Report, result: VulnImportResult, now: datetime, teams: set[Any] | None
    ) -> None:
        self.report, self.result, self.now = report, result, now
        index = current()
        self.scanned_at = {_host_key(h.host_ip, h.host_name): h.scanned_at for h in report.hosts}
        self.assets: dict[str, AssetRef | None] = {}
        # Hosts that are assets of a team the importer may not write (writable_team_ids):
        # their findings are neither recorded nor closed by this report.
        self.foreign: set[str] = set()
        hosts: list[ScannedHost | Observation] = [*report.hosts, *report.observations]
        for host in hosts:
            key = _host_key(host.host_ip, host.host_name)
            if key not in self.assets:
                ref = _asset_of(index, host.host_ip, host.host_name)
                if ref is not None and teams is not None and ref.team_id not in (None, *teams):
                    self.foreign.add(key)
                    ref = None
                self.assets[key] = ref
        ids = {ref.id for ref in self.assets.values() if ref is not None}
        self.known: dict[Key, VulnerabilityFinding] = {
            _key(f): f
            for f in VulnerabilityFinding.objects.filter(asset_id__in=ids, scanner=report.scanner)
        }
        # The latest scan of each asset by this scanner that its findings show (every
        # report of a scanner with findings to close is a full scan of its hosts).
        self.latest: dict[str, datetime] = {}
        if report.full_scan:
            for finding in self.known.values():
                asset_id = str(finding.asset_id)
                latest = max(finding.last_seen, finding.fixed_at or finding.last_seen)
                self.latest[asset_id] = max(self.latest.get(asset_id, latest), latest)
        self.seen: set[Key] = set()
        self.new: list[VulnerabilityFinding] = []
        self.dirty: dict[int, VulnerabilityFinding] = {}

    def when(self, host: Observation | ScannedHost) -> datetime:
        return self.scanned_at.get(_host_key(host.host_ip, host.host_name)) or self.now

    def observe(self, observation: Observation, asset: AssetRef) -> None:
        when = self.when(observation)
        for cve in observation.cves or [""]:
            key: Key = (
                asset.id,
                self.report.scanner,
                observation.plugin_id,
                observation.port,
                observation.protocol,
                cve,
            )
            if key in self.seen:  # the report repeats it (two ports folded into one)
                continue
            self.seen.add(key)
            finding = self.known.get(key)
            if finding is None:
                self.new.append(_made(key, observation, when, self.latest.get(asset.id)))
                self.result.created += 1
            else:
                self._again(finding, observation, when)

    def _again(
        self, finding: VulnerabilityFinding, observation: Observation, when: datetime
    ) -> None:
        if (
            not observation.fixed
            and finding.status == VulnerabilityFinding.Status.FIXED
            and finding.fixed_at is not None
            and when <= finding.fixed_at
        ):
            # A newer scan found it fixed: this older report has no say (last_seen too).
            self.result.unchanged += 1
            return
        changed = False
        if when >= finding.last_seen:
            for name in DETAIL_FIELDS:
                if getattr(finding, name) != getattr(observation, name):
                    setattr(finding, name, getattr(observation, name))
                    changed = True
        if observation.fixed and finding.status == VulnerabilityFinding.Status.OPEN:
            finding.status, finding.fixed_at = VulnerabilityFinding.Status.FIXED, when
            self.result.fixed += 1
        elif (
            not observation.fixed
            and finding.status == VulnerabilityFinding.Status.FIXED
            and finding.fixed_at is not None
            and when > finding.fixed_at
        ):
            finding.status, finding.fixed_at = VulnerabilityFinding.Status.OPEN, None
            changed = True
        if changed:
            self.result.updated += 1
        elif not observation.fixed:
            self.result.unchanged += 1
        if when > finding.last_seen or when < finding.first_seen or changed or observation.fixed:
            finding.last_seen = max(finding.last_seen, when)
            finding.first_seen = min(finding.first_seen, when)
            self.dirty[finding.pk] = finding

    def close_missing(self) -> None:
        """The fixed rule: a full scan of a host, ended after an open finding of the same
        scanner was last seen, that does not report it any more."""
        scanned = {
            ref.id: self.when(host)
            for host in self.report.hosts
            if (ref := self.assets.get(_host_key(host.host_ip, host.host_name))) is not None
        }
        for key, finding in self.known.items():
            ended = scanned.get(key[0])
            if (
                ended is not None
                and key not in self.seen
                and finding.status == VulnerabilityFinding.Status.OPEN
                and finding.last_seen < ended
            ):
                finding.status, finding.fixed_at = VulnerabilityFinding.Status.FIXED, ended
                self.dirty[finding.pk] = finding
                self.result.fixed += 1

    def write(self) -> None:
        VulnerabilityFinding.objects.bulk_create(self.new, batch_size=1_000)
        VulnerabilityFinding.objects.bulk_update(
            list(self.dirty.values()),
            [*DETAIL_FIELDS, "status", "fixed_at", "first_seen", "last_seen", "updated_at"],
            batch_size=1_000,
        )


def _key(finding: VulnerabilityFinding) -> Key:
    return (
        str(finding.asset_id),
        finding.scanner,
        finding.plugin_id,
        finding.port,
        finding.protocol,
        finding.cve,
    )


def _made(
    key: Key, observation: Observation, when: datetime, latest: datetime | None
) -> VulnerabilityFinding:
    """A new finding; fixed when a CSV row says so, or when a newer full scan of the
    asset (``latest``) has already been imported without it: then it is fixed as of
    that scan."""
    fixed_at = when if observation.fixed else None
    if latest is not None and latest > when:
        fixed_at = latest
    return VulnerabilityFinding(
        asset_id=key[0],
        scanner=key[1],
        plugin_id=key[2],
        port=key[3],
        protocol=key[4],
        cve=key[5],
        **{name: getattr(observation, name) for name in DETAIL_FIELDS},
        status=VulnerabilityFinding.Status.FIXED if fixed_at else VulnerabilityFinding.Status.OPEN,
        fixed_at=fixed_at,
        first_seen=when,
        last_seen=when,
    )


def _skip_unknown(state: _Import, observations: Iterable[Observation]) -> list[Observation]:
    """The observations whose host is in the inventory; the others skipped, one reason
    per host."""
    kept, unknown = [], dict[str, int]()
    for observation in observations:
        key = _host_key(observation.host_ip, observation.host_name)
        if state.assets.get(key) is None:
            unknown[key] = unknown.get(key, 0) + 1
        else:
            kept.append(observation)
    for host, count in unknown.items():
        why = "another team's asset" if host in state.foreign else "not in the inventory"
        state.result.skip(
            f"host {host[:80]}",
            f"{why} ({count} finding{'s' if count > 1 else ''} skipped)",
            count,
        )
    return kept


def vulns_import(
    *,
    actor: User | None,
    content: bytes,
    fmt: str,
    limits: Limits | None = None,
    now: datetime | None = None,
) -> VulnImportResult:
    """Import a scanner report (``fmt``: nessus, openvas, csv); the whole file or
    nothing. ReportRefused for a file that is malformed, hostile or over a limit."""
    report = parse_report(fmt, content, limits)
    result = VulnImportResult(format=fmt, scanner=report.scanner)
    result.informational = report.informational
    for where, why in report.skips:
        result.skip(where, why, 0)
    result.skipped += report.skipped
    with transaction.atomic():
        state = _Import(report, result, now or timezone.now(), writable_team_ids(actor))
        for observation in _skip_unknown(state, report.observations):
            asset = state.assets[_host_key(observation.host_ip, observation.host_name)]
            assert asset is not None
            state.observe(observation, asset)
        if report.full_scan:
            state.close_missing()
        state.write()
        audit_record(
            actor=actor,
            action="vulnerability.import",
            changes={k: v for k, v in result.as_dict().items() if k != "reasons"},
        )
    return result
