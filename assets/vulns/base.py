"""What every scanner format is read into, and the bounded, safe XML parse they share.

A report is a list of ``Observation`` (one scanner item on one host and port, with its
CVEs) and, for the XML formats, the hosts the scan covered and when — which is what
lets an import mark a finding fixed, and tell an older report from a newer (``store``).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

MAX_EVIDENCE = 2_000  # characters of a scanner's output kept with a finding
MAX_TEXT = 500
MAX_REASONS = 200  # skips listed one by one; the count covers every one


class ReportRefused(Exception):
    """The whole report is refused (nothing is stored); ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 32 * 1024 * 1024
    max_elements: int = 2_000_000  # a 32 MiB .nessus holds well under a million
    max_depth: int = 16  # Nessus and OpenVAS reports nest 6 to 8 deep
    max_observations: int = 100_000


@dataclass
class Observation:
    where: str  # for skip reasons: "ReportHost 10.0.0.5, item 3", "line 4"
    host_ip: str | None
    host_name: str | None
    port: int
    protocol: str
    plugin_id: str
    plugin_name: str
    cves: list[str]
    cvss_score: Decimal | None
    cvss_vector: str
    severity: str
    evidence: str = ""
    fixed: bool = False  # a CSV row saying the finding is fixed


@dataclass
class ScannedHost:
    host_ip: str | None
    host_name: str | None
    # When the scan of the host ended, else when it started, if the report says either.
    scanned_at: datetime | None


@dataclass
class Report:
    scanner: str
    observations: list[Observation] = field(default_factory=list)
    hosts: list[ScannedHost] = field(default_factory=list)
    full_scan: bool = True  # an XML report covers its hosts; a CSV is a list of findings
    skips: list[tuple[str, str]] = field(default_factory=list)  # (where, why): the first ones
    skipped: int = 0  # every one
    informational: int = 0  # items with no risk (Nessus severity 0, OpenVAS "Log")

    def skip(self, where: str, why: str) -> None:
        self.skipped += 1
        if len(self.skips) < MAX_REASONS:
            self.skips.append((where, why[:300]))

    def add(self, observation: Observation, limits: Limits) -> None:
        if len(self.observations) >= limits.max_observations:
            raise ReportRefused(
                f"More than {limits.max_observations:,} findings: split the report.", 413
            )
        self.observations.append(observation)


def parse_xml(data: bytes, limits: Limits, what: str) -> ET.Element:
    """``data`` parsed with DTDs, entities and external references refused, stopping
    as soon as it passes ``limits.max_elements`` elements or ``limits.max_depth`` levels
    (the counting happens while reading, so a hostile file costs at most that much)."""
    if len(data) > limits.max_bytes:
        raise ReportRefused(f"The report is larger than {limits.max_bytes:,} bytes.", 413)
    elements = depth = 0
    try:
        reader = SafeET.iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True)
        for event, _ in reader:
            if event == "end":
                depth -= 1
                continue
            elements += 1
            depth += 1
            if elements > limits.max_elements:
                raise ReportRefused(
                    f"More than {limits.max_elements:,} XML elements: refused after {elements:,}.",
                    413,
                )
            if depth > limits.max_depth:
                raise ReportRefused(f"XML nested deeper than {limits.max_depth} levels.")
        root: ET.Element = reader.root
    except DefusedXmlException as exc:
        raise ReportRefused(
            f"Not a {what}: DTDs, entities and external references are refused ({exc})."
        ) from None
    except ET.ParseError as exc:
        raise ReportRefused(f"Not a {what}: the XML does not parse ({exc}).") from None
    return root


def text_of(element: ET.Element | None, limit: int = MAX_TEXT) -> str:
    if element is None or element.text is None:
        return ""
    return element.text.strip()[:limit]


def score(value: str | None) -> Decimal | None:
    """A CVSS base score (0.0 to 10.0, one decimal), or None for anything else."""
    if not value:
        return None
    try:
        number = Decimal(value.strip()[:8]).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        return None
    return number if Decimal(0) <= number <= Decimal(10) else None


def level_of(cvss: Decimal | None, fallback: str) -> str:
    """The finding's severity: CVSS v3's bands when the score is known."""
    if cvss is None:
        return fallback
    if cvss >= 9:
        return "critical"
    if cvss >= 7:
        return "high"
    if cvss >= 4:
        return "medium"
    return "low" if cvss > 0 else "info"


def port_of(value: str | None) -> int:
    """A port number, 0 for none ("general", "package", empty)."""
    try:
        port = int((value or "0").strip().split("/")[0])
    except ValueError:
        return 0
    return port if 0 <= port <= 65535 else 0
