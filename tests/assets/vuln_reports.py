"""Small scanner reports written for the tests (no scanner's output is copied): a Nessus
v2 file and an OpenVAS/Greenbone report, built from a few findings per host."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr


@dataclass
class Item:
    plugin: str
    name: str
    port: int = 0
    protocol: str = "tcp"
    severity: int = 3  # Nessus 0-4
    cves: list[str] = field(default_factory=list)
    cvss: str = ""
    vector: str = ""
    output: str = ""


def nessus(
    hosts: dict[str, list[Item]],
    *,
    ended: int | None = 1_700_000_000,
    started: str = "",
    fqdn: str = "",
) -> bytes:
    """``hosts``: address -> its items; ``ended``: each host's HOST_END_TIMESTAMP (None:
    no end), ``started`` its HOST_START text ("Thu Dec 16 10:12:45 2021")."""
    parts = ['<?xml version="1.0" ?>\n<NessusClientData_v2><Report name="weekly">']
    for ip, items in hosts.items():
        parts.append(f"<ReportHost name={quoteattr(ip)}><HostProperties>")
        parts.append(f'<tag name="host-ip">{escape(ip)}</tag>')
        if fqdn:
            parts.append(f'<tag name="host-fqdn">{escape(fqdn)}</tag>')
        if started:
            parts.append(f'<tag name="HOST_START">{escape(started)}</tag>')
        if ended is not None:
            parts.append(f'<tag name="HOST_END_TIMESTAMP">{ended}</tag>')
        parts.append("</HostProperties>")
        for item in items:
            parts.append(
                f'<ReportItem port={quoteattr(str(item.port))} svc_name="www"'
                f' protocol={quoteattr(item.protocol)} severity="{item.severity}"'
                f" pluginID={quoteattr(item.plugin)} pluginName={quoteattr(item.name)}>"
            )
            parts += [f"<cve>{escape(c)}</cve>" for c in item.cves]
            if item.cvss:
                parts.append(f"<cvss3_base_score>{escape(item.cvss)}</cvss3_base_score>")
            if item.vector:
                parts.append(f"<cvss3_vector>{escape(item.vector)}</cvss3_vector>")
            parts.append(f"<plugin_output>{escape(item.output)}</plugin_output></ReportItem>")
        parts.append("</ReportHost>")
    parts.append("</Report></NessusClientData_v2>")
    return "".join(parts).encode()


def openvas(hosts: dict[str, list[Item]], *, ended: str = "2023-11-14T22:13:20Z") -> bytes:
    """A GMP ``get_reports_response`` with a report nested in a report, as gvm-cli
    writes it."""
    parts = [
        '<get_reports_response status="200" status_text="OK">'
        '<report id="r1" format_id="a994b278"><report id="r1">'
        f"<scan_end>{ended}</scan_end><results>"
    ]
    for ip, items in hosts.items():
        for n, item in enumerate(items):
            refs = "".join(f'<ref type="cve" id={quoteattr(c)}/>' for c in item.cves)
            parts.append(
                f'<result id="{ip}-{n}"><name>{escape(item.name)}</name>'
                f"<host>{escape(ip)}<hostname>box</hostname></host>"
                f"<port>{item.port or 'general'}/{item.protocol}</port>"
                f"<nvt oid={quoteattr(item.plugin)}><name>{escape(item.name)}</name>"
                f"<tags>cvss_base_vector={escape(item.vector)}|summary=x</tags>"
                f'<refs>{refs}<ref type="url" id="https://example.org"/></refs></nvt>'
                f"<threat>High</threat><severity>{escape(item.cvss or '0.0')}</severity>"
                f"<description>{escape(item.output)}</description></result>"
            )
    parts.append("</results>")
    for ip in hosts:
        parts.append(f"<host><ip>{escape(ip)}</ip><end>{ended}</end></host>")
    parts.append("</report></report></get_reports_response>")
    return "".join(parts).encode()


LOG4SHELL = Item(
    "156014",
    "Apache Log4Shell RCE detection",
    port=8080,
    cves=["CVE-2021-44228", "CVE-2021-45046"],
    cvss="10.0",
    vector="CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
    output="Vulnerable log4j-core 2.14.1 found",
)
OPENSSH = Item(
    "1.3.6.1.4.1.25623.1.0.99999",
    "OpenSSH weak thing",
    port=22,
    cves=["CVE-2023-38408"],
    cvss="9.8",
)
