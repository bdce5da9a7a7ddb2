"""``leef``: IBM Log Event Extended Format 1.0 and 2.0, bare or after a syslog header.

``LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v`` ; LEEF 2.0 adds a delimiter field
after the event id (a character, or its hex code such as ``x5E`` or ``^``). Attributes keep
their LEEF names under ``leef.attributes``; the predefined ones are copied to ECS.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from .base import (
    ParseContext,
    ParsedEvent,
    RawRecord,
    RecordError,
    add_related,
    int_or_none,
    per_record,
    put,
)
from .keyvalue import copy_to_ecs, device_time, message_text, put_observer, split_escaped
from .timestamps import TimestampOutOfRange, brief

ECS = {
    "src": "source.ip",
    "srcPort": "source.port",
    "dst": "destination.ip",
    "dstPort": "destination.port",
    "srcMAC": "source.mac",
    "dstMAC": "destination.mac",
    "srcPreNAT": "source.ip",
    "dstPreNAT": "destination.ip",
    "srcPostNAT": "source.nat.ip",
    "dstPostNAT": "destination.nat.ip",
    "srcPostNATPort": "source.nat.port",
    "dstPostNATPort": "destination.nat.port",
    "usrName": "user.name",
    "accountName": "user.name",
    "srcBytes": "source.bytes",
    "dstBytes": "destination.bytes",
    "srcPackets": "source.packets",
    "dstPackets": "destination.packets",
    "identHostName": "host.name",
    "url": "url.original",
    "action": "event.action",
    "proto": "network.transport",
    "domain": "user.domain",
    "policy": "rule.name",
    "resource": "url.domain",
    "vSrc": "source.ip",
}


_HEX = re.compile(r"[0-9a-f]{1,6}")


def _delimiter(spec: str) -> str:
    spec = spec.strip()
    if len(spec) == 1:
        return spec
    digits = spec.lower().removeprefix("0x").removeprefix("x")
    if spec.lower().startswith(("x", "0x")) and _HEX.fullmatch(digits):
        code = int(digits, 16)
        if code <= sys.maxunicode:
            return chr(code)
    raise RecordError(f"LEEF 2.0 delimiter {spec!r} is neither a character nor a hex code")


def attributes(text: str, delimiter: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in text.split(delimiter):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            values[key.strip()] = value.strip()
    return values


def _parse(record: RawRecord, context: ParseContext) -> ParsedEvent:
    text = message_text(record, "LEEF")
    start = text.find("LEEF:")
    if start < 0:
        raise RecordError("not LEEF: no 'LEEF:' header")
    body = text[start + 5 :]
    version = body.split("|", 1)[0].strip()
    if version.startswith("2"):
        parts = split_escaped(body, "|", 6)
        if len(parts) < 7:
            raise RecordError("LEEF 2.0 header needs version|vendor|product|version|id|delimiter|")
        _, vendor, product, product_version, event_id, delimiter_spec, rest = parts
        delimiter = _delimiter(delimiter_spec) if delimiter_spec else "\t"
    else:
        parts = split_escaped(body, "|", 5)
        if len(parts) < 6:
            raise RecordError(f"LEEF header has {len(parts) - 1} of its 5 '|'-separated fields")
        _, vendor, product, product_version, event_id, rest = parts
        delimiter = "\t"
    values = attributes(rest, delimiter)
    doc: dict[str, Any] = {"event": {"kind": "event", "dataset": "leef", "code": event_id}}
    put(doc, "leef.version", version)
    put(doc, "leef.vendor", vendor)
    put(doc, "leef.product", product)
    put(doc, "leef.product_version", product_version)
    put(doc, "leef.event_id", event_id)
    put(doc, "leef.attributes", values or None)
    put_observer(doc, vendor, product, product_version)
    copy_to_ecs(doc, values, ECS)
    put(doc, "event.severity", int_or_none(values.get("sev")))
    put(doc, "event.category", [values["cat"]] if values.get("cat") else None)
    add_related(doc, "ip", doc.get("source", {}).get("ip"), doc.get("destination", {}).get("ip"))
    add_related(doc, "user", doc.get("user", {}).get("name"))
    timestamp, claimed = None, None
    if values.get("devTime"):
        try:
            timestamp = device_time(values["devTime"], context.time_zone, context.received_at)
        except TimestampOutOfRange:
            claimed = brief(values["devTime"])
    slug = f"{product}_{event_id}".lower().replace(" ", "_")[:90]
    return ParsedEvent(
        timestamp=timestamp, event_type=f"leef_{slug}", fields=doc, raw=text, claimed_time=claimed
    )


parse = per_record(_parse, "leef")
