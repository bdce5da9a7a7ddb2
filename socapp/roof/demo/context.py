"""The demo's context: a partner's threat-intel feed and last week's vulnerability scan,
imported before the day is replayed, through the same services an upload uses.

- The feed (STIX 2.1, made up here) names the host the story's implant is fetched from,
  so ingest matches ws-finance-07's lookup against it and ``socapp_ioc_match`` raises an
  alert that names the indicator and its feed; its other indicators match nothing.
- The scan (a Nessus v2 report, made up here) found ws-dev-05's browser open to
  CVE-2023-4863, and the day's IDS log has a signature for that CVE against ws-dev-05: the
  pack's ``socapp_ids_cve_alert`` (medium) is raised to high because of the open finding.

Both are in the demo's one transaction. The story's addresses are documentation ranges
and its controller a dynamic-DNS name, all on intel's warning lists (an import skips
them), so the feed's indicators are other domains and a hash.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from .story import BASTION, STAGING_DOMAIN, VULNERABLE_CVE, VULNERABLE_HOST, WINDOWS_HOSTS

if TYPE_CHECKING:
    from socapp.users import User

FEED_NAME = "Demo partner feed"
# STIX 2.1's fixed TLP 1.0 marking definitions (section 7.2.1.4).
TLP_GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
TLP_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"

_NAMESPACE = uuid.UUID("5d0c3a52-8d1e-4f0e-9a59-0f3c2b7d6e11")  # stable ids across installs


@dataclass(frozen=True)
class DemoContext:
    indicators: int
    findings: int


def import_context(actor: User, now: datetime) -> DemoContext:
    """The feed and the scan, as the demo admin uploaded them."""
    from assets.vulns.store import vulns_import
    from intel.indicator_set import indicator_set
    from intel.services import intel_import

    feed = intel_import(actor=actor, data=partner_feed(now), fmt="stix", feed_name=FEED_NAME)
    # The set's version moves when the demo's transaction commits, after the replay: this
    # process rebuilds its index now, from the transaction that holds the feed.
    indicator_set.forget()
    scan = vulns_import(actor=actor, content=scan_report(now), fmt="nessus")
    return DemoContext(indicators=feed.created, findings=scan.created)


# ---- the feed ---------------------------------------------------------------------------


def _id(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, name)}"


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _object(kind: str, key: str, at: datetime, **extra: Any) -> dict[str, Any]:
    stamp = _stamp(at)
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": _id(kind, key),
        "created": stamp,
        "modified": stamp,
        **extra,
    }


def _indicator(name: str, pattern: str, at: datetime, confidence: int, tlp: str) -> dict[str, Any]:
    return _object(
        "indicator",
        name,
        at,
        name=name,
        pattern=pattern,
        pattern_type="stix",
        valid_from=_stamp(at),
        confidence=confidence,
        labels=["malicious-activity"],
        object_marking_refs=[tlp],
    )


def _technique(name: str, external_id: str, at: datetime) -> dict[str, Any]:
    reference = {"source_name": "mitre-attack", "external_id": external_id}
    return _object("attack-pattern", name, at, name=name, external_references=[reference])


def _relation(source: dict[str, Any], target: dict[str, Any], kind: str) -> dict[str, Any]:
    at = datetime.fromisoformat(source["created"].replace("Z", "+00:00"))
    name = f"{source['id']} {kind} {target['id']}"
    return _object(
        "relationship",
        name,
        at,
        relationship_type=kind,
        source_ref=source["id"],
        target_ref=target["id"],
    )


def partner_feed(now: datetime) -> bytes:
    """A small STIX 2.1 bundle a partner CERT might share: the payload server of a
    made-up RAT (high confidence, TLP:AMBER, with the RAT's ATT&CK techniques), its loader's
    hash and a phishing page, which match nothing in the demo day."""
    seen = (now - timedelta(days=3)).replace(microsecond=0)
    payload = _indicator(
        "Payload server of the QuietFern RAT",
        f"[domain-name:value = '{STAGING_DOMAIN}']",
        seen,
        confidence=85,
        tlp=TLP_AMBER,
    )
    loader = _indicator(
        "QuietFern loader",
        "[file:hashes.'SHA-256' = '" + "3f9a" * 16 + "']",
        seen - timedelta(days=2),
        confidence=70,
        tlp=TLP_GREEN,
    )
    phishing = _indicator(
        "Invoice lure landing page",
        "[domain-name:value = 'invoice-portal.example.net']",
        seen - timedelta(days=5),
        confidence=55,
        tlp=TLP_GREEN,
    )
    rat = _object("malware", "QuietFern", seen, name="QuietFern", is_family=True)
    techniques = [
        _technique("Ingress Tool Transfer", "T1105", seen),
        _technique("Dynamic Resolution", "T1568", seen),
        _technique("Application Layer Protocol: Web Protocols", "T1071.001", seen),
    ]
    relations = [
        _relation(payload, rat, "indicates"),
        _relation(loader, rat, "indicates"),
        *(_relation(rat, t, "uses") for t in techniques),
    ]
    objects = [payload, loader, phishing, rat, *techniques, *relations]
    bundle = {"type": "bundle", "id": _id("bundle", FEED_NAME), "objects": objects}
    return json.dumps(bundle).encode()


# ---- the scan ---------------------------------------------------------------------------


def _address(host: str) -> str:
    return next(ip for name, ip, *_ in WINDOWS_HOSTS if name == host)


# host address -> (plugin id, name, port, Nessus severity 0-4, CVEs, CVSS 3 score, evidence)
_Finding = tuple[str, str, int, int, tuple[str, ...], str, str]


def _findings() -> dict[str, list[_Finding]]:
    return {
        _address(VULNERABLE_HOST): [
            (
                "181289",
                "Google Chrome < 116.0.5845.187 Multiple Vulnerabilities",
                0,
                3,
                (VULNERABLE_CVE,),
                "8.8",
                "Installed version: 116.0.5845.141, fixed version: 116.0.5845.187",
            )
        ],
        BASTION[1]: [
            (
                "178771",
                "OpenSSH < 9.3p2 ssh-agent remote code execution",
                22,
                3,
                ("CVE-2023-38408",),
                "9.8",
                "Version OpenSSH_9.2p1 Debian-2",
            )
        ],
    }


def scan_report(now: datetime) -> bytes:
    """A Nessus v2 file of last week's credentialed scan: one finding on ws-dev-05 (the
    CVE the day's IDS alert names) and one on the bastion."""
    ended = int((now - timedelta(days=6)).timestamp())
    parts = ['<?xml version="1.0" ?>\n<NessusClientData_v2><Report name="weekly scan">']
    for ip, items in _findings().items():
        parts.append(f"<ReportHost name={quoteattr(ip)}><HostProperties>")
        parts.append(f'<tag name="host-ip">{escape(ip)}</tag>')
        parts.append(f'<tag name="HOST_END_TIMESTAMP">{ended}</tag></HostProperties>')
        for plugin, name, port, severity, cves, score, evidence in items:
            parts.append(
                f'<ReportItem port="{port}" svc_name="general" protocol="tcp"'
                f' severity="{severity}" pluginID={quoteattr(plugin)}'
                f" pluginName={quoteattr(name)}>"
            )
            parts += [f"<cve>{escape(cve)}</cve>" for cve in cves]
            parts.append(f"<cvss3_base_score>{escape(score)}</cvss3_base_score>")
            parts.append(f"<plugin_output>{escape(evidence)}</plugin_output></ReportItem>")
        parts.append("</ReportHost>")
    parts.append("</Report></NessusClientData_v2>")
    return "".join(parts).encode()
