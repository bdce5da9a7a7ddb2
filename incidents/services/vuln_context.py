"""Cross-correlation of IDS alerts with scanner findings (docs/ASSETS.md,
"Vulnerabilities"): an alert whose events or rule name a CVE (a Suricata/Snort rule's
``metadata: cve ...`` or ``reference:cve,...``, a Sigma tag ``cve.2021-44228``) about
an asset with an OPEN finding for that CVE is raised one level, to at least High
(capped at the top severity), after the criticality raise, and says why. An asset whose
finding is fixed is not raised: the attack hits a patched machine.

Called by ``asset_context`` for each alert batch, with the assets it resolved: one query
for the batch's rules' tags and one for the findings, and none when no alert of the
batch both concerns an asset and names a CVE.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assets.index import AssetRef
from assets.vulns.selectors import OpenFinding, open_findings_for
from correlation.selectors import rules_tags
from socapp.cve import MAX_PER_TEXT, of_tags

from ..models import Alert, Severity

STEP = 1  # levels an open finding for the alert's CVE adds
FLOOR = 4  # ... and at least High: an exploit attempt against an exposed machine
MAX_NOTED = 5  # findings an alert records


def _cves(
    alert: Alert, by_event: Mapping[str, list[str]], tags: Mapping[str, list[str]]
) -> list[str]:
    found: list[str] = []
    for event_id in alert.details.get("event_ids") or []:
        found += by_event.get(str(event_id), [])
    found += of_tags(tags.get(str(alert.rule_id), []))
    return list(dict.fromkeys(found))[:MAX_PER_TEXT]


def _reason(ref: AssetRef, finding: OpenFinding) -> str:
    return f"{ref.name} has open finding {finding.cve} ({finding.describe()})"


def _note_raise(alert: Alert, raised: Severity, reason: str, ref: AssetRef, cve: str) -> None:
    """Record the raise next to any criticality raise: the first ``from`` stays, both
    reasons are kept."""
    before = alert.details.get("severity_raised")
    earlier = (before.get("reasons") or [before["reason"]]) if before else []
    reasons = [*earlier, reason]
    start = before["from"] if before else alert.severity.name
    first_level = alert.severity.level - (before["by"] if before else 0)
    alert.details["severity_raised"] = {
        **(before or {"asset": ref.name, "asset_id": ref.id, "criticality": ref.criticality}),
        "from": start,
        "to": raised.name,
        "by": raised.level - first_level,
        "cve": cve,
        "reasons": reasons,
        "reason": "; ".join(reasons),
    }
    alert.severity = raised


def apply_vulnerability_context(
    alerts: Sequence[Alert],
    assets: Mapping[Any, list[AssetRef]],
    cves_by_event: Mapping[str, list[str]],
    severities: Sequence[Severity],
) -> None:
    """``assets``: each alert's assets (by alert id), the most critical first."""
    concerned = [a for a in alerts if assets.get(a.pk)]
    if not concerned or not severities:
        return
    tags = rules_tags({a.rule_id for a in concerned if a.rule_id})
    wanted = {a.pk: _cves(a, cves_by_event, tags) for a in concerned}
    if not any(wanted.values()):
        return
    findings = open_findings_for(
        (r.id for a in concerned if wanted[a.pk] for r in assets[a.pk]),
        (c for cves in wanted.values() for c in cves),
    )
    by_level = {s.level: s for s in severities}
    top = max(by_level)
    for alert in concerned:
        matches = [
            (ref, findings[(ref.id, cve)])
            for ref in assets[alert.pk]
            for cve in wanted[alert.pk]
            if (ref.id, cve) in findings
        ]
        if not matches:
            continue
        matches.sort(key=lambda m: -(m[1].cvss_score or 0))
        alert.details["vulnerabilities"] = [
            {**f.as_details(), "asset": ref.name} for ref, f in matches[:MAX_NOTED]
        ]
        ref, finding = matches[0]
        level = min(top, max(alert.severity.level + STEP, FLOOR))
        if level > alert.severity.level and level in by_level:
            _note_raise(alert, by_level[level], _reason(ref, finding), ref, finding.cve)
