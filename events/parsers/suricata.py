"""``suricata``: Suricata EVE JSON (alert, flow, dns, http, tls, fileinfo, ...).

ECS placement follows Elastic's Suricata module: ``source``/``destination``, ``rule.*`` and
``event.kind: alert`` for alerts, ``dns.*``, ``url.*``/``http.*``, ``tls.*``, ``file.*``.
EVE's own keys stay next to them (``alert``, ``flow``, ``src_ip``, ...); the ones whose
names ECS also uses (``dns``, ``http``, ``tls``) are kept under ``suricata``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from socapp import cve as cves

from .base import (
    ParseContext,
    ParsedEvent,
    RawRecord,
    RecordError,
    add_related,
    int_or_none,
    ip_or_none,
    json_raw,
    keep_originals,
    per_record,
    port_or_none,
    put,
)
from .jsonlog import as_object
from .timestamps import parse_iso

SEVERITY_WORDS = {1: "high", 2: "medium", 3: "low"}
APP_PROTOCOLS = {
    "dns",
    "http",
    "tls",
    "ssh",
    "smb",
    "ftp",
    "smtp",
    "dhcp",
    "rdp",
    "krb5",
    "nfs",
    "sip",
    "snmp",
    "tftp",
    "ikev2",
    "mqtt",
    "http2",
    "rfb",
    "dnp3",
    "modbus",
}


def _parse(record: RawRecord, context: ParseContext) -> ParsedEvent:
    eve = as_object(record)
    kind = eve.get("event_type")
    if not isinstance(kind, str):
        raise RecordError("not Suricata EVE: no 'event_type'")
    doc: dict[str, Any] = {
        "event": {"kind": "metric" if kind == "stats" else "event", "dataset": f"suricata.{kind}"}
    }
    _network(doc, eve)
    # Each protocol object is read wherever it appears: an alert on an HTTP request
    # carries both "alert" and "http".
    for key, reader in (
        ("flow", _flow),
        ("dns", _dns),
        ("http", _http),
        ("tls", _tls),
        ("fileinfo", _file),
        ("anomaly", _anomaly),
        ("alert", _alert),
    ):
        if isinstance(eve.get(key), dict):
            reader(doc, eve)
    if kind == "alert" and not isinstance(eve.get("alert"), dict):
        raise RecordError("an EVE alert without its 'alert' object")
    if kind in APP_PROTOCOLS and not doc.get("network", {}).get("protocol"):
        put(doc, "network.protocol", kind)
    keep_originals(doc, eve, "suricata")
    timestamp = None
    if isinstance(eve.get("timestamp"), str):
        try:
            timestamp = parse_iso(eve["timestamp"], context.time_zone)
        except ValueError as exc:
            raise RecordError(f"bad EVE timestamp {eve['timestamp']!r}") from exc
    dedupe = None
    if eve.get("flow_id") is not None and eve.get("timestamp"):
        dedupe = ":".join(
            str(p)
            for p in (
                "eve",
                kind,
                eve["flow_id"],
                eve["timestamp"],
                eve.get("tx_id", ""),
                (eve.get("alert") or {}).get("signature_id", "")
                if isinstance(eve.get("alert"), dict)
                else "",
                eve.get("pcap_cnt", ""),
            )
        )

    raw = record.data if isinstance(record.data, str) else json_raw(eve)
    return ParsedEvent(
        timestamp=timestamp, event_type=f"suricata_{kind}", fields=doc, raw=raw, dedupe_key=dedupe
    )


def _network(doc: dict[str, Any], eve: dict[str, Any]) -> None:
    for side, ip_key, port_key in (
        ("source", "src_ip", "src_port"),
        ("destination", "dest_ip", "dest_port"),
    ):
        address = ip_or_none(eve.get(ip_key))
        put(doc, f"{side}.ip", address)
        put(doc, f"{side}.address", eve.get(ip_key))
        put(doc, f"{side}.port", port_or_none(eve.get(port_key)))
        add_related(doc, "ip", address)
    if isinstance(eve.get("proto"), str):
        put(doc, "network.transport", eve["proto"].lower())
    if isinstance(eve.get("app_proto"), str) and eve["app_proto"] != "failed":
        put(doc, "network.protocol", eve["app_proto"].lower())
    put(doc, "observer.ingress.interface.name", eve.get("in_iface"))
    put(
        doc,
        "network.vlan.id",
        str(eve["vlan"][0]) if isinstance(eve.get("vlan"), list) and eve["vlan"] else None,
    )
    if eve.get("community_id"):
        put(doc, "network.community_id", eve["community_id"])


def _alert(doc: dict[str, Any], eve: dict[str, Any]) -> None:
    alert = eve.get("alert")
    if not isinstance(alert, dict):
        raise RecordError("an EVE alert without its 'alert' object")
    put(doc, "event.kind", "alert")
    put(doc, "event.category", ["network", "intrusion_detection"])
    put(doc, "rule.id", str(alert["signature_id"]) if "signature_id" in alert else None)
    put(doc, "rule.name", alert.get("signature"))
    put(doc, "rule.category", alert.get("category"))
    severity = int_or_none(alert.get("severity"))
    put(doc, "event.severity", severity)
    put(doc, "event.severity_name", SEVERITY_WORDS.get(severity or 0))
    action = alert.get("action")
    put(doc, "event.type", ["denied"] if action == "blocked" else ["allowed"])
    put(doc, "event.outcome", "failure" if action == "blocked" else None)
    put(doc, "message", alert.get("signature"))
    put(doc, "vulnerability.id", _cves(alert) or None)


def _cves(alert: dict[str, Any]) -> list[str]:
    """The CVEs an alert's rule names: its ``metadata: cve CVE_2021_44228`` (EVE's
    ``alert.metadata.cve``), a ``reference:cve,2021-44228`` in the rule text (EVE's
    ``alert.rule`` when rules are logged), and a CVE in the signature's message."""
    found: list[str] = []
    metadata = alert.get("metadata")
    listed = metadata.get("cve") if isinstance(metadata, dict) else None
    # A sender's list: only as many entries are read as are kept (bounded work a line).
    for value in listed[: cves.MAX_PER_TEXT] if isinstance(listed, list) else []:
        if isinstance(value, str) and (cve := cves.canonical(value)):
            found.append(cve)
    for key in ("rule", "signature"):
        if isinstance(alert.get(key), str):
            found += cves.in_text(alert[key])
    return list(dict.fromkeys(found))[: cves.MAX_PER_TEXT]


def _dns(doc: dict[str, Any], eve: dict[str, Any]) -> None:
    dns = eve.get("dns")
    if not isinstance(dns, dict):
        return
    put(doc, "event.category", ["network"])
    put(doc, "dns.type", dns.get("type"))
    put(doc, "dns.id", str(dns["id"]) if "id" in dns else None)
    queries = dns.get("queries")
    first = queries[0] if isinstance(queries, list) and queries else None
    put(
        doc,
        "dns.question.name",
        dns.get("rrname") or (first.get("rrname") if isinstance(first, dict) else None),
    )
    put(doc, "dns.question.type", dns.get("rrtype"))
    put(doc, "dns.response_code", dns.get("rcode"))
    answers = found if isinstance(found := dns.get("answers"), list) else []
    put(
        doc,
        "dns.answers",
        [
            {
                "name": a.get("rrname"),
                "type": a.get("rrtype"),
                "data": a.get("rdata"),
                "ttl": a.get("ttl"),
            }
            for a in answers
            if isinstance(a, dict)
        ]
        or None,
    )
    resolved = [ip for a in answers if isinstance(a, dict) and (ip := ip_or_none(a.get("rdata")))]
    put(doc, "dns.resolved_ip", resolved or None)


def _http(doc: dict[str, Any], eve: dict[str, Any]) -> None:
    http = eve.get("http")
    if not isinstance(http, dict):
        return
    put(doc, "event.category", ["network", "web"])
    put(doc, "url.domain", http.get("hostname"))
    put(doc, "url.original", http.get("url"))
    if isinstance(http.get("url"), str):
        url = http["url"]
        try:
            parts = urlsplit(url) if "://" in url else urlsplit("//x" + url)
        except ValueError:  # "http://[::1": url.original keeps it as sent
            parts = None
        if parts is not None:
            put(doc, "url.path", parts.path)
            put(doc, "url.query", parts.query)
    put(doc, "http.request.method", http.get("http_method"))
    put(doc, "http.response.status_code", int_or_none(http.get("status")))
    put(doc, "http.request.referrer", http.get("http_refer"))
    put(doc, "http.response.body.bytes", int_or_none(http.get("length")))
    put(
        doc,
        "http.version",
        str(http["protocol"]).removeprefix("HTTP/") if http.get("protocol") else None,
    )
    put(doc, "user_agent.original", http.get("http_user_agent"))


def _tls(doc: dict[str, Any], eve: dict[str, Any]) -> None:
    tls = eve.get("tls")
    if not isinstance(tls, dict):
        return
    put(doc, "event.category", ["network"])
    put(
        doc,
        "tls.client.server_name",
        tls["sni"].rstrip(".") if isinstance(tls.get("sni"), str) else None,
    )
    put(doc, "tls.server.subject", tls.get("subject"))
    put(doc, "tls.server.issuer", tls.get("issuerdn"))
    fingerprint = tls.get("fingerprint")
    if isinstance(fingerprint, str):
        put(doc, "tls.server.hash.sha1", fingerprint.replace(":", "").upper() or None)
    put(doc, "tls.server.not_before", tls.get("notbefore"))
    put(doc, "tls.server.not_after", tls.get("notafter"))
    version = tls.get("version")
    if isinstance(version, str) and " " in version:
        protocol, _, number = version.partition(" ")
        put(doc, "tls.version_protocol", protocol.lower())
        put(doc, "tls.version", number)
    if isinstance(tls.get("ja3"), dict):
        put(doc, "tls.client.ja3", tls["ja3"].get("hash"))
    if isinstance(tls.get("ja3s"), dict):
        put(doc, "tls.server.ja3s", tls["ja3s"].get("hash"))


def _file(doc: dict[str, Any], eve: dict[str, Any]) -> None:
    info = eve.get("fileinfo")
    if not isinstance(info, dict):
        return
    put(doc, "event.category", ["file"])
    put(doc, "file.name", info.get("filename"))
    put(doc, "file.size", int_or_none(info.get("size")))
    for algorithm in ("md5", "sha1", "sha256"):
        put(doc, f"file.hash.{algorithm}", info.get(algorithm))
    put(doc, "file.mime_type", info.get("magic"))


def _flow(doc: dict[str, Any], eve: dict[str, Any]) -> None:
    flow = eve.get("flow")
    if not isinstance(flow, dict):
        return
    put(doc, "event.category", ["network"])
    put(doc, "event.type", ["connection", "end"])
    put(doc, "source.packets", int_or_none(flow.get("pkts_toserver")))
    put(doc, "destination.packets", int_or_none(flow.get("pkts_toclient")))
    put(doc, "source.bytes", int_or_none(flow.get("bytes_toserver")))
    put(doc, "destination.bytes", int_or_none(flow.get("bytes_toclient")))
    total = (int_or_none(flow.get("bytes_toserver")) or 0) + (
        int_or_none(flow.get("bytes_toclient")) or 0
    )
    put(doc, "network.bytes", total or None)
    put(doc, "event.start", flow.get("start"))
    put(doc, "event.end", flow.get("end"))


def _anomaly(doc: dict[str, Any], eve: dict[str, Any]) -> None:
    anomaly = eve.get("anomaly")
    if isinstance(anomaly, dict):
        put(doc, "event.category", ["network"])
        put(doc, "message", anomaly.get("event"))


parse = per_record(_parse, "suricata")
