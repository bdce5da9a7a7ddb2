"""Nessus v2 (``.nessus``) reports.

``NessusClientData_v2/Report/ReportHost``: the host's ``HostProperties`` tags give its
address (``host-ip``), names (``host-fqdn``, ``hostname``) and when its scan ended
(``HOST_END_TIMESTAMP``, else ``HOST_END``) or, failing those, started (``HOST_START``
likewise); each ``ReportItem`` (attributes ``port``, ``protocol``, ``severity`` 0-4,
``pluginID``, ``pluginName``) is an observation with its ``cve`` elements,
``cvss3_base_score`` (else ``cvss_base_score``), ``cvss3_vector`` (else ``cvss_vector``)
and ``plugin_output`` as evidence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

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

LEVELS = {"0": "info", "1": "low", "2": "medium", "3": "high", "4": "critical"}


def _host_time(tags: dict[str, str], which: str) -> datetime | None:
    """``HOST_END`` or ``HOST_START``: the ``_TIMESTAMP`` tag (Unix seconds), else the text."""
    stamp = tags.get(f"{which}_TIMESTAMP", "")
    if stamp.isdigit():
        try:
            return datetime.fromtimestamp(int(stamp), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:  # "Thu Dec 16 10:12:45 2021": Nessus writes the scanner's local time, unzoned
        return datetime.strptime(tags.get(which, ""), "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
    except ValueError:
        return None


def _item(item: ET.Element, where: str, host: ScannedHost) -> Observation:
    cvss = score(text_of(item.find("cvss3_base_score"))) or score(
        text_of(item.find("cvss_base_score"))
    )
    vector = text_of(item.find("cvss3_vector"), 200) or text_of(item.find("cvss_vector"), 200)
    return Observation(
        where=where,
        host_ip=host.host_ip,
        host_name=host.host_name,
        port=port_of(item.get("port")),
        protocol=(item.get("protocol") or "")[:10].lower(),
        plugin_id=(item.get("pluginID") or "")[:100],
        plugin_name=(item.get("pluginName") or "")[:500],
        cves=cves.listed(text_of(element, 40) for element in item.findall("cve")),
        cvss_score=cvss,
        cvss_vector=vector,
        severity=level_of(cvss, LEVELS.get(item.get("severity") or "", "medium")),
        evidence=text_of(item.find("plugin_output"), MAX_EVIDENCE),
    )


def parse(data: bytes, limits: Limits) -> Report:
    root = parse_xml(data, limits, "Nessus v2 report")
    if root.tag != "NessusClientData_v2":
        raise ReportRefused(f"Not a Nessus v2 report: the root is <{root.tag[:60]}>.")
    report = Report(scanner="nessus")
    for number, element in enumerate(root.iter("ReportHost"), 1):
        tags = {
            (tag.get("name") or ""): text_of(tag) for tag in element.findall("HostProperties/tag")
        }
        name = element.get("name") or ""
        host = ScannedHost(
            host_ip=tags.get("host-ip") or name or None,
            host_name=tags.get("host-fqdn") or tags.get("hostname") or None,
            scanned_at=_host_time(tags, "HOST_END") or _host_time(tags, "HOST_START"),
        )
        report.hosts.append(host)
        for index, item in enumerate(element.findall("ReportItem"), 1):
            if (item.get("severity") or "0") == "0" and item.find("cve") is None:
                report.informational += 1
                continue
            report.add(_item(item, f"ReportHost {name[:60] or number}, item {index}", host), limits)
    return report
