"""``access``: Apache and nginx access logs (common and combined, optional vhost in front,
optional X-Forwarded-For list, extra fields after the user agent ignored).

ECS as Elastic's apache/nginx modules place it, plus the W3C names Sigma's webserver
rules use (``c-ip``, ``cs-method``, ``cs-uri-stem``, ``cs-uri-query``, ``sc-status``,
``cs-user-agent``, ``cs-referer``, ``cs-username``).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any

from .base import (
    ParseContext,
    ParsedEvent,
    RawRecord,
    RecordError,
    add_related,
    int_or_none,
    ip_or_none,
    per_record,
    put,
)

_LINE = re.compile(
    r'^(?:(?P<vhost>[^\s,"]+(?::\d+)?) (?=\S+(?:, \S+)* \S+ \S+ \[))?'
    r'(?:"(?P<forwarded>[^"]*)" )?'
    r"(?P<clients>\S+(?:, \S+)*)(?: (?P<remote>\S+))? (?P<ident>\S+) (?P<user>\S+) "
    r"\[(?P<time>[^\]]+)\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}|-) (?P<bytes>\d+|-)'
    r'(?: "(?P<referrer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?'
)
_REQUEST = re.compile(r"^(?P<method>[A-Z]+) (?P<target>\S+)(?: HTTP/(?P<version>[\d.]+))?$")


def _client_address(addresses: list[str]) -> str:
    """The first public address of a proxy chain (X-Forwarded-For first, then the peer),
    or the first address when all are private: who the request came from."""
    for address in addresses:
        ip = ip_or_none(address)
        if ip and ipaddress.ip_address(ip).is_global:
            return address
    return addresses[0]


def _time(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z")
    except ValueError as exc:
        raise RecordError(f"bad access-log time [{text}]") from exc


def _parse(record: RawRecord, context: ParseContext) -> ParsedEvent:
    if not isinstance(record.data, str):
        raise RecordError("access logs are text lines")
    line = record.data.strip()
    match = _LINE.match(line)
    if not match:
        raise RecordError("not an Apache/nginx access log line (common or combined format)")
    doc: dict[str, Any] = {
        "event": {"kind": "event", "dataset": "access", "category": ["web"], "type": ["access"]}
    }
    clients = [c.strip() for c in (match["forwarded"] or "").split(",") if c.strip()]
    clients += [c.strip() for c in match["clients"].split(",")]
    if match["remote"]:
        clients.append(match["remote"])
    client = _client_address(clients)
    address = ip_or_none(client)
    put(doc, "source.ip", address)
    put(doc, "source.address", client)
    add_related(doc, "ip", address)
    if len(clients) > 1:
        put(doc, "access.remote_ip_list", clients)
    if match["vhost"]:
        put(doc, "destination.domain", match["vhost"].split(":")[0])
    if match["user"] != "-":
        put(doc, "user.name", match["user"])
        add_related(doc, "user", match["user"])
    request = _REQUEST.match(match["request"])
    status = int_or_none(match["status"])
    put(doc, "http.response.status_code", status)
    put(doc, "http.response.body.bytes", int_or_none(match["bytes"]))
    w3c: dict[str, Any] = {"c-ip": client, "sc-status": status}
    if request:
        target = request["target"]
        path, _, query = target.partition("?")
        put(doc, "http.request.method", request["method"])
        put(doc, "url.original", target)
        put(doc, "url.path", path)
        put(doc, "url.query", query)
        put(doc, "http.version", request["version"])
        w3c.update({"cs-method": request["method"], "cs-uri-stem": path, "cs-uri-query": query})
    elif match["request"] not in ("-", ""):
        put(doc, "url.original", match["request"])
    if match["referrer"] not in (None, "-"):
        put(doc, "http.request.referrer", match["referrer"])
        w3c["cs-referer"] = match["referrer"]
    if match["agent"] not in (None, "-"):
        put(doc, "user_agent.original", match["agent"])
        w3c["cs-user-agent"] = match["agent"]
    if match["user"] != "-":
        w3c["cs-username"] = match["user"]
    if status is not None:
        put(doc, "event.outcome", "success" if status < 400 else "failure")
    doc.update({k: v for k, v in w3c.items() if v not in (None, "")})
    return ParsedEvent(
        timestamp=_time(match["time"]), event_type="http_access", fields=doc, raw=line
    )


parse = per_record(_parse, "access")
