"""OpenVAS / Greenbone (GMP) XML reports.

The report (``<report>``, alone or inside ``get_reports_response`` / an outer
``<report>``) lists ``results/result``: ``host`` (its text the address, ``hostname``
within it the name), ``port`` ("8080/tcp", "general/tcp"), ``nvt`` (``oid``
attribute, ``name``, ``refs/ref type="cve" id=...`` or an older ``cve`` list,
``severities/severity/value`` or ``cvss_base`` with the vector in ``tags``
``cvss_base_vector=...``), ``severity`` (the CVSS score; 0 is a log entry) and
``description`` as evidence. When each host was scanned comes from the report's
``host/end`` (else ``scan_end``, else ``host/start``, else ``scan_start``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from socapp import cve as cves

from .base import (
    MAX_EVIDENCE,
    Limits,
    Observation,
    Report,
    ReportRefused,
    ScannedHost,
    level_of,
    parse_xml,
    port_of,
    score,
    text_of,
)

THREATS = {"log": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}


def _when(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _inner(root: ET.Element) -> ET.Element:
    """The report element that holds ``results`` (GMP nests a report in a report)."""
    for candidate in (root, *root.iter("report")):
        if candidate.find("results") is not None:
            return candidate
    raise ReportRefused("Not an OpenVAS/Greenbone report: no <results>.")


def _cves(nvt: ET.Element | None) -> list[str]:
    if nvt is None:
        return []
    refs = [
        ref.get("id") or ""
        for ref in nvt.findall("refs/ref")
        if (ref.get("type") or "").lower() == "cve"
    ]
    return cves.listed([*refs, *cves.in_text(text_of(nvt.find("cve"), 4_000))])  # GMP 7: a list


def _vector(nvt: ET.Element | None) -> str:
    if nvt is None:
        return ""
    vector = text_of(nvt.find("severities/severity/value"), 200)
    if vector:
        return vector
    for part in text_of(nvt.find("tags"), 4_000).split("|"):
        if part.startswith("cvss_base_vector="):
            return part.partition("=")[2][:200]
    return ""


def _result(result: ET.Element, where: str) -> Observation:
    host = result.find("host")
    nvt = result.find("nvt")
    port_text = text_of(result.find("port"), 40)
    cvss = score(text_of(result.find("severity"))) or score(
        text_of(nvt.find("cvss_base") if nvt is not None else None)
    )
    threat = THREATS.get(text_of(result.find("threat")).lower(), "medium")
    return Observation(
        where=where,
        host_ip=(host.text or "").strip()[:64] or None if host is not None else None,
        host_name=text_of(host.find("hostname") if host is not None else None, 253) or None,
        port=port_of(port_text),
        protocol=port_text.rpartition("/")[2][:10].lower() if "/" in port_text else "",
        plugin_id=((nvt.get("oid") if nvt is not None else "") or "")[:100],
        plugin_name=text_of(nvt.find("name") if nvt is not None else None),
        cves=_cves(nvt),
        cvss_score=cvss,
        cvss_vector=_vector(nvt),
        severity=level_of(cvss, threat) if cvss else threat,
        evidence=text_of(result.find("description"), MAX_EVIDENCE),
    )


def _hosts(
    report: ET.Element, scan_end: datetime | None, scan_start: datetime | None
) -> list[ScannedHost]:
    hosts = []
    for host in report.findall("host"):
        name = ""
        for detail in host.findall("detail"):
            if text_of(detail.find("name")) == "hostname":
                name = text_of(detail.find("value"), 253)
        hosts.append(
            ScannedHost(
                host_ip=text_of(host.find("ip"), 64) or None,
                host_name=name or None,
                scanned_at=_when(text_of(host.find("end")))
                or scan_end
                or _when(text_of(host.find("start")))
                or scan_start,
            )
        )
    return hosts


def parse(data: bytes, limits: Limits) -> Report:
    root = parse_xml(data, limits, "OpenVAS/Greenbone report")
    inner = _inner(root)
    scan_end = _when(text_of(inner.find("scan_end")))
    scan_start = _when(text_of(inner.find("scan_start")))
    # GMP leaves scan_end empty for a scan that was stopped: its start still dates it.
    report = Report(scanner="openvas", hosts=_hosts(inner, scan_end, scan_start))
    known = {(h.host_ip, h.host_name) for h in report.hosts}
    for index, result in enumerate(inner.findall("results/result"), 1):
        observation = _result(result, f"result {result.get('id', '')[:40] or index}")
        if observation.severity == "info" and not observation.cves:
            report.informational += 1
            continue
        report.add(observation, limits)
        # A report without host elements: its results' hosts were scanned when it was.
        if not any(ip == observation.host_ip for ip, _ in known):
            known.add((observation.host_ip, observation.host_name))
            report.hosts.append(
                ScannedHost(observation.host_ip, observation.host_name, scan_end or scan_start)
            )
    return report
