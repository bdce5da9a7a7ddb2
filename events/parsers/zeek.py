"""``zeek``: Zeek logs as JSON (``id.orig_h`` or ``id_orig_h``) or TSV with ``#fields``.

The log kind (conn, dns, http, ssl, files, kerberos, smb_files, smb_mapping, dce_rpc, ...)
comes from ``_path``/``@stream``, the TSV ``#path`` header, or the fields a record has.
Zeek's own field names are kept next to the ECS ones (``id.orig_h``, ``query``, ...; Sigma's
Zeek rules use them), underscored ids written the dotted way.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from .base import (
    ParseContext,
    ParsedEvent,
    ParseResult,
    RawRecord,
    RecordError,
    Rejected,
    add_related,
    failure_reason,
    int_or_none,
    ip_or_none,
    json_raw,
    keep_originals,
    port_or_none,
    put,
    raw_of,
    tidy,
)
from .jsonlog import read_time
from .timestamps import brief, from_epoch

KIND_HINTS = [  # (kind, fields that give it away), most specific first
    ("smb_mapping", {"share_type"}),
    ("smb_files", {"action", "path", "name"}),
    ("dce_rpc", {"endpoint", "operation"}),
    ("kerberos", {"request_type", "client"}),
    ("files", {"fuid", "tx_hosts"}),
    ("files", {"fuid", "mime_type", "source"}),
    ("ssl", {"server_name", "cipher"}),
    ("ssl", {"version", "established"}),
    ("http", {"method", "uri"}),
    ("dns", {"query", "qtype_name"}),
    ("dns", {"trans_id"}),
    ("conn", {"conn_state"}),
    ("conn", {"duration", "orig_bytes"}),
]
CONN_STATES = {
    "S0": "Connection attempt seen, no reply.",
    "S1": "Connection established, not terminated.",
    "SF": "Normal establishment and termination.",
    "REJ": "Connection attempt rejected.",
    "RSTO": "Connection established, originator aborted (sent a RST).",
    "RSTR": "Responder sent a RST.",
    "OTH": "No SYN seen, just midstream traffic.",
}


def _dotted(record: dict[str, Any]) -> dict[str, Any]:
    """``id_orig_h`` -> ``id.orig_h``; nested ``{"id": {"orig_h": ...}}`` flattened too."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "id" and isinstance(value, dict):
            for inner, item in value.items():
                out[f"id.{inner}"] = item
        elif key.startswith("id_") and key[3:] in ("orig_h", "orig_p", "resp_h", "resp_p"):
            out[f"id.{key[3:]}"] = value
        else:
            out[key] = value
    return out


def kind_of(record: dict[str, Any], default: str | None = None) -> str:
    for key in ("_path", "@stream", "_log", "log_type"):
        if isinstance(value := record.get(key), str) and value:
            return value.removesuffix(".log")
    if default:
        return default
    fields = set(record)
    for kind, hints in KIND_HINTS:
        if hints <= fields:
            return kind
    return "unknown"


def event_of(
    record: dict[str, Any], raw: str, context: ParseContext, kind_hint: str | None = None
) -> ParsedEvent:
    zeek = _dotted(record)
    kind = kind_of(zeek, kind_hint)
    doc: dict[str, Any] = {
        "event": {"kind": "event", "dataset": f"zeek.{kind}", "category": ["network"]}
    }
    for side, host, port in (
        ("source", "id.orig_h", "id.orig_p"),
        ("destination", "id.resp_h", "id.resp_p"),
    ):
        address = ip_or_none(zeek.get(host))
        put(doc, f"{side}.ip", address)
        put(doc, f"{side}.port", port_or_none(zeek.get(port)))
        add_related(doc, "ip", address)
    put(doc, "network.transport", zeek.get("proto") if isinstance(zeek.get("proto"), str) else None)
    put(doc, "zeek.session_id", zeek.get("uid"))
    put(doc, "event.id", zeek.get("uid"))
    handler = {
        "conn": _conn,
        "dns": _dns,
        "http": _http,
        "ssl": _ssl,
        "files": _files,
        "kerberos": _kerberos,
        "smb_files": _smb_files,
        "dce_rpc": _dce_rpc,
    }.get(kind)
    if handler:
        handler(doc, zeek)
    if kind in TCP_KINDS and not doc.get("network", {}).get("transport"):
        put(doc, "network.transport", "tcp")
    keep_originals(doc, zeek, "zeek")
    timestamp, claimed = read_time(zeek.get("ts"), context)
    if claimed is not None:
        raise RecordError(f"Zeek ts {claimed} is out of range")
    if zeek.get("ts") is not None and timestamp is None:
        raise RecordError(f"bad Zeek ts {brief(zeek.get('ts'))!r}")
    parts = (
        kind,
        zeek.get("uid") or zeek.get("fuid"),
        zeek.get("ts"),
        zeek.get("fuid") or zeek.get("trans_id") or "",
    )
    dedupe = "zeek:" + ":".join(str(p) for p in parts) if parts[1] and parts[2] else None
    return ParsedEvent(
        timestamp=timestamp, event_type=f"zeek_{kind}", fields=doc, raw=raw, dedupe_key=dedupe
    )


def _conn(doc: dict[str, Any], zeek: dict[str, Any]) -> None:
    put(doc, "event.type", ["connection", "start", "end"])
    put(doc, "network.protocol", zeek.get("service") if zeek.get("service") != "-" else None)
    put(doc, "source.bytes", int_or_none(zeek.get("orig_ip_bytes")))
    put(doc, "destination.bytes", int_or_none(zeek.get("resp_ip_bytes")))
    put(doc, "source.packets", int_or_none(zeek.get("orig_pkts")))
    put(doc, "destination.packets", int_or_none(zeek.get("resp_pkts")))
    put(doc, "network.bytes", _total(zeek, "orig_ip_bytes", "resp_ip_bytes"))
    put(doc, "network.packets", _total(zeek, "orig_pkts", "resp_pkts"))
    put(doc, "event.duration", _nanoseconds(zeek.get("duration")))
    state = zeek.get("conn_state")
    put(doc, "zeek.connection.state", state)
    put(
        doc,
        "zeek.connection.state_message",
        CONN_STATES.get(text) if (text := _text(state)) else None,
    )


def _total(zeek: dict[str, Any], *keys: str) -> int | None:
    values = [int_or_none(zeek.get(k)) for k in keys]
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _nanoseconds(value: Any) -> int | None:
    """Seconds (a number or its text) as nanoseconds; None for "-", garbage, infinity."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return round(float(value) * 1e9)
    except (ValueError, OverflowError):
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


DNS_CLASSES = {"C_INTERNET": "IN", "C_CHAOS": "CH", "C_HESIOD": "HS", "C_ANY": "ANY"}
# Logs that carry no "proto" but always run over TCP (Elastic's module assumes the same,
# Kerberos included).
TCP_KINDS = {
    "http",
    "ssl",
    "smb_files",
    "smb_mapping",
    "dce_rpc",
    "smtp",
    "ftp",
    "rdp",
    "ntlm",
    "kerberos",
}


def _dns(doc: dict[str, Any], zeek: dict[str, Any]) -> None:
    put(doc, "dns.question.name", zeek.get("query"))
    put(doc, "dns.question.type", zeek.get("qtype_name"))
    qclass = zeek.get("qclass_name")
    put(
        doc,
        "dns.question.class",
        DNS_CLASSES.get(text, text) if (text := _text(qclass)) else qclass,
    )
    put(doc, "event.duration", _nanoseconds(zeek.get("rtt")))
    put(doc, "dns.response_code", zeek.get("rcode_name"))
    put(doc, "dns.id", str(zeek["trans_id"]) if zeek.get("trans_id") is not None else None)
    answers = found if isinstance(found := zeek.get("answers"), list) else []
    put(doc, "dns.answers", [{"data": a} for a in answers] or None)
    resolved = [ip for a in answers if (ip := ip_or_none(a))]
    put(doc, "dns.resolved_ip", resolved or None)
    put(doc, "network.protocol", "dns")


def _http(doc: dict[str, Any], zeek: dict[str, Any]) -> None:
    put(doc, "event.category", ["network", "web"])
    put(doc, "http.request.method", zeek.get("method"))
    put(doc, "url.domain", zeek.get("host"))
    put(doc, "url.original", zeek.get("uri"))
    if isinstance(zeek.get("uri"), str):
        put(doc, "url.path", zeek["uri"].split("?", 1)[0])
    put(doc, "http.response.status_code", int_or_none(zeek.get("status_code")))
    put(doc, "http.version", zeek.get("version"))
    put(doc, "http.request.referrer", zeek.get("referrer"))
    put(doc, "http.request.body.bytes", int_or_none(zeek.get("request_body_len")))
    put(doc, "http.response.body.bytes", int_or_none(zeek.get("response_body_len")))
    put(doc, "user_agent.original", zeek.get("user_agent"))
    put(doc, "network.protocol", "http")
    status = int_or_none(zeek.get("status_code"))
    if status:
        put(doc, "event.outcome", "success" if status < 400 else "failure")
    if zeek.get("username") not in (None, "-", ""):
        put(doc, "user.name", zeek["username"])
        add_related(doc, "user", zeek["username"])


def _ssl(doc: dict[str, Any], zeek: dict[str, Any]) -> None:
    put(doc, "tls.client.server_name", zeek.get("server_name"))
    put(doc, "tls.cipher", zeek.get("cipher"))
    put(doc, "tls.curve", zeek.get("curve"))
    put(
        doc,
        "tls.established",
        zeek.get("established") if isinstance(zeek.get("established"), bool) else None,
    )
    put(doc, "tls.resumed", zeek.get("resumed") if isinstance(zeek.get("resumed"), bool) else None)
    version = zeek.get("version")
    if isinstance(version, str) and version.startswith(("TLSv", "SSLv")):
        put(doc, "tls.version_protocol", version[:3].lower())
        number = version[4:]
        put(
            doc,
            "tls.version",
            f"{number[0]}.{number[1:]}" if number.isdigit() and len(number) > 1 else number,
        )
    put(doc, "tls.server.subject", zeek.get("subject"))
    put(doc, "tls.server.issuer", zeek.get("issuer"))
    put(doc, "tls.client.ja3", zeek.get("ja3"))
    put(doc, "network.protocol", "tls")


def _files(doc: dict[str, Any], zeek: dict[str, Any]) -> None:
    doc["event"]["category"] = ["file"]
    connections = zeek.get("conn_uids")
    if isinstance(connections, list) and connections:
        put(doc, "zeek.session_id", connections[0])
        put(doc, "event.id", connections[0])
    for algorithm in ("md5", "sha1", "sha256"):
        put(doc, f"file.hash.{algorithm}", zeek.get(algorithm))
    put(doc, "file.mime_type", zeek.get("mime_type"))
    put(doc, "file.name", zeek.get("filename"))
    put(
        doc,
        "file.size",
        int_or_none(zeek.get("total_bytes")) or int_or_none(zeek.get("seen_bytes")),
    )
    for side, key in (("source", "tx_hosts"), ("destination", "rx_hosts")):
        hosts = zeek.get(key)
        if isinstance(hosts, list) and hosts and not doc.get(side, {}).get("ip"):
            address = ip_or_none(hosts[0])
            put(doc, f"{side}.ip", address)
            add_related(doc, "ip", *[ip_or_none(h) for h in hosts])


def _kerberos(doc: dict[str, Any], zeek: dict[str, Any]) -> None:
    doc["event"]["category"] = ["network", "authentication"]
    put(doc, "network.protocol", "kerberos")
    client = zeek.get("client")
    if isinstance(client, str) and client:
        name, _, realm = client.partition("/")
        put(doc, "user.name", name)
        put(doc, "user.domain", realm or None)
        add_related(doc, "user", name)
    if isinstance(zeek.get("success"), bool):
        put(doc, "event.outcome", "success" if zeek["success"] else "failure")
    put(doc, "event.action", zeek.get("request_type"))
    put(doc, "tls.cipher", zeek.get("cipher"))


def _smb_files(doc: dict[str, Any], zeek: dict[str, Any]) -> None:
    doc["event"]["category"] = ["network", "file"]
    put(doc, "event.action", zeek.get("action"))
    put(doc, "file.name", zeek.get("name"))
    if isinstance(zeek.get("path"), str) and isinstance(zeek.get("name"), str):
        put(doc, "file.path", zeek["path"].rstrip("\\") + "\\" + zeek["name"])
    put(doc, "file.size", int_or_none(zeek.get("size")))
    put(doc, "network.protocol", "smb")
    for zeek_name, ecs_name in (
        ("modified", "mtime"),
        ("accessed", "accessed"),
        ("created", "created"),
        ("changed", "ctime"),
    ):
        moment = zeek.get(f"times.{zeek_name}")
        if isinstance(moment, int | float) and not isinstance(moment, bool):
            with contextlib.suppress(ValueError):  # out of range: the zeek field keeps it
                put(
                    doc,
                    f"file.{ecs_name}",
                    from_epoch(moment).isoformat().replace("+00:00", "Z"),
                )


def _dce_rpc(doc: dict[str, Any], zeek: dict[str, Any]) -> None:
    put(doc, "event.action", zeek.get("operation"))
    put(doc, "network.protocol", "dce_rpc")


# ---- TSV ---------------------------------------------------------------------------


def _tsv_value(text: str, kind: str, separator: str) -> Any:
    if text in ("-", "(empty)"):
        return None if text == "-" else ""
    if kind.startswith(("set[", "vector[")):
        inner = kind[kind.index("[") + 1 : -1]
        return [_tsv_value(v, inner, separator) for v in text.split(separator)]
    if kind in ("count", "int", "port"):
        return int_or_none(text)
    if kind in ("double", "interval", "time"):
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "bool":
        return text == "T"
    return text


class _Header:
    """What the ``#`` lines of a Zeek TSV file said so far."""

    def __init__(self) -> None:
        self.separator, self.set_separator = "\t", ","
        self.fields: list[str] = []
        self.types: list[str] = []
        self.path: str | None = None

    def read(self, line: str) -> None:
        between = " " if line.startswith("#separator") else self.separator
        name, _, value = line[1:].partition(between)
        if name == "separator":
            self.separator = _separator(value.strip())
        elif name == "set_separator":
            self.set_separator = value or ","
        elif name == "fields":
            self.fields = value.split(self.separator)
        elif name == "types":
            self.types = value.split(self.separator)
        elif name == "path":
            self.path = value


_HEX_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


def _separator(spec: str) -> str:
    """``#separator \\x09``: Zeek writes the separator as an escape. Anything that is not
    one character once unescaped keeps the tab: a bad header must not break the file."""
    if len(spec) == 1:
        return spec
    escape = _HEX_ESCAPE.fullmatch(spec)  # not "unicode_escape": it warns on "\q" and the like
    return chr(int(escape[1], 16)) if escape else "\t"


def parse(records: Iterable[RawRecord], context: ParseContext) -> Iterator[ParseResult]:
    header = _Header()
    for record in records:
        try:
            result = _one(record, header, context)
        except Exception as exc:  # one record's failure, whatever it is, is that record's
            raw = record.data if isinstance(record.data, str) else raw_of(record)
            yield Rejected(record.number, raw, failure_reason(exc, "zeek"))
            continue
        if result is not None:
            yield result


def _one(record: RawRecord, header: _Header, context: ParseContext) -> ParseResult | None:
    if isinstance(record.data, dict):
        try:
            event = event_of(record.data, json_raw(record.data), context)
        except RecordError as exc:
            return Rejected(record.number, json_raw(record.data), str(exc))
        return _numbered(event, record.number)
    line = record.data.rstrip("\r\n")
    if not line.strip():
        return None
    if line.startswith("#"):
        header.read(line)
        return None
    if line.lstrip().startswith("{"):
        try:
            return _numbered(event_of(orjson.loads(line), line, context), record.number)
        except (orjson.JSONDecodeError, RecordError) as exc:
            return Rejected(record.number, line, f"not Zeek JSON: {exc}")
    fields = header.fields
    if not fields:
        return Rejected(record.number, line, "Zeek TSV line before any '#fields' header")
    values = line.split(header.separator)
    if len(values) != len(fields):
        return Rejected(
            record.number,
            line,
            f"Zeek TSV line has {len(values)} values for {len(fields)} fields",
        )
    kinds = header.types if len(header.types) == len(fields) else ["string"] * len(fields)
    row = {
        f: _tsv_value(v, k, header.set_separator)
        for f, v, k in zip(fields, values, kinds, strict=True)
    }
    try:
        return _numbered(event_of(row, line, context, header.path), record.number)
    except RecordError as exc:
        return Rejected(record.number, line, str(exc))


def _numbered(event: ParsedEvent, number: int) -> ParsedEvent:
    event.number = number
    tidy(event.fields)
    return event
