"""CSV findings: a header row names the columns, in any order.

``host`` (an address or host name) is required, and ``cve`` or ``plugin``; ``cvss``,
``port`` ("8080" or "8080/tcp"), ``protocol``, ``name``, ``severity``, ``vector``,
``output`` and ``status`` (open, fixed) are optional. One row per CVE (a cell may list
several, separated by ``;`` or spaces). A CSV is a list of findings, not a scan: a
finding it leaves out stays as it is; ``status=fixed`` marks one fixed.
"""

from __future__ import annotations

import csv
import io

from socapp import cve as cves

from .base import MAX_EVIDENCE, Limits, Observation, Report, ReportRefused, level_of, port_of, score

COLUMNS = {
    "host": "host",
    "ip": "host",
    "cve": "cve",
    "cves": "cve",
    "cvss": "cvss",
    "port": "port",
    "protocol": "protocol",
    "plugin": "plugin",
    "plugin_id": "plugin",
    "name": "name",
    "plugin_name": "name",
    "severity": "severity",
    "vector": "vector",
    "output": "output",
    "status": "status",
}
SEVERITIES = {"info", "low", "medium", "high", "critical"}
MAX_FIELD = 16_384


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReportRefused("The CSV is not UTF-8 text.") from None


def _header(reader: csv.DictReader[str]) -> dict[str, str]:
    fields = [(f or "").strip().lower() for f in reader.fieldnames or []]
    unknown = [f for f in fields if f and f not in COLUMNS]
    if unknown:
        raise ReportRefused(f"Unknown column(s): {', '.join(unknown[:10])[:200]}.")
    mapping = {raw: COLUMNS[f] for raw, f in zip(reader.fieldnames or [], fields, strict=True) if f}
    if "host" not in mapping.values() or not {"cve", "plugin"} & set(mapping.values()):
        raise ReportRefused("The header must name host, and cve or plugin.")
    return mapping


def _row(line: int, row: dict[str, str], report: Report) -> Observation | None:
    host = row.get("host", "").strip()[:253]
    named = [c for c in row.get("cve", "").replace(";", " ").split() if c]
    found = [c for c in (cves.canonical(n) for n in named[: cves.MAX_PER_TEXT]) if c]
    if not host:
        report.skip(f"line {line}", "host: empty")
        return None
    if len(found) != len(named[: cves.MAX_PER_TEXT]):
        report.skip(f"line {line}", f"cve: {row.get('cve', '')[:60]!r} is not CVE-YYYY-NNNN")
        return None
    if not found and not row.get("plugin", "").strip():
        report.skip(f"line {line}", "neither a cve nor a plugin")
        return None
    cvss = score(row.get("cvss"))
    if row.get("cvss", "").strip() and cvss is None:
        report.skip(f"line {line}", "cvss: not a score from 0 to 10")
        return None
    stated = row.get("severity", "").strip().lower()
    port_text = row.get("port", "").strip()
    return Observation(
        where=f"line {line}",
        host_ip=host,
        host_name=host,
        port=port_of(port_text),
        protocol=(row.get("protocol", "").strip() or port_text.partition("/")[2])[:10].lower(),
        plugin_id=row.get("plugin", "").strip()[:100],
        plugin_name=row.get("name", "").strip()[:500],
        cves=found,
        cvss_score=cvss,
        cvss_vector=row.get("vector", "").strip()[:200],
        severity=stated if stated in SEVERITIES else level_of(cvss, "medium"),
        evidence=row.get("output", "")[:MAX_EVIDENCE],
        fixed=row.get("status", "").strip().lower() == "fixed",
    )


def parse(data: bytes, limits: Limits, scanner: str = "csv") -> Report:
    if len(data) > limits.max_bytes:
        raise ReportRefused(f"The report is larger than {limits.max_bytes:,} bytes.", 413)
    report = Report(scanner=scanner, full_scan=False)
    reader = csv.DictReader(io.StringIO(_text(data), newline=""))
    try:
        mapping = _header(reader)
        for raw in reader:
            if any(len(v or "") > MAX_FIELD for v in raw.values() if isinstance(v, str)):
                report.skip(f"line {reader.line_num}", f"a cell over {MAX_FIELD} characters")
                continue
            row = {
                mapping[k]: (v or "") for k, v in raw.items() if k in mapping and isinstance(v, str)
            }
            if not any(v.strip() for v in row.values()):
                continue
            observation = _row(reader.line_num, row, report)
            if observation is not None:
                report.add(observation, limits)
    except csv.Error as exc:
        raise ReportRefused(f"Line {reader.line_num}: not CSV ({exc}).") from None
    return report
