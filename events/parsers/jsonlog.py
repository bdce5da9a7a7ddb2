"""``json``: one JSON object per event, ECS-shaped or not.

ECS-shaped input (``@timestamp``, ``event``/``source``/... objects, or dotted keys such as
``"source.ip"``) is kept as is, dotted keys expanded. Anything else keeps its own field
names, and the usual suspects (``src_ip``, ``user``, ``timestamp``, ...) are also copied to
their ECS places so searches and pivots work the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from ..fields import get
from .base import (
    ECS_ROOTS,
    ParseContext,
    ParsedEvent,
    RawRecord,
    RecordError,
    add_related,
    ip_or_none,
    json_raw,
    per_record,
    port_or_none,
    put,
)
from .timestamps import TimestampOutOfRange, brief, from_epoch, parse_iso

TIME_KEYS = (
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "eventTime",
    "event_time",
    "datetime",
    "date",
    "created_at",
    "createdAt",
    "EventTime",
    "TimeCreated",
)
ALIASES = {
    "source.ip": (
        "src_ip",
        "srcip",
        "source_ip",
        "src",
        "client_ip",
        "clientip",
        "remote_addr",
        "SourceAddress",
        "SourceIp",
    ),
    "destination.ip": (
        "dest_ip",
        "dst_ip",
        "dstip",
        "destination_ip",
        "dst",
        "server_ip",
        "DestAddress",
        "DestinationIp",
    ),
    "source.port": ("src_port", "srcport", "sport", "source_port", "SourcePort"),
    "destination.port": (
        "dest_port",
        "dst_port",
        "dstport",
        "dport",
        "destination_port",
        "DestPort",
        "DestinationPort",
    ),
    "user.name": ("user", "username", "user_name", "userName", "UserName", "account"),
    "host.name": ("host", "hostname", "Hostname", "computer", "Computer"),
    "message": ("msg", "Message", "log"),
    "network.transport": ("proto", "protocol", "transport"),
    "url.original": ("url", "uri", "request_uri"),
    "http.request.method": ("method", "http_method", "request_method"),
    "user_agent.original": ("user_agent", "useragent", "http_user_agent"),
}
MAX_DOTS = 16
TYPE_KEYS = ("event.action", "event_type", "eventName", "type", "action", "EventID")


def as_object(record: RawRecord) -> dict[str, Any]:
    if isinstance(record.data, dict):
        return record.data
    try:
        value = orjson.loads(record.data)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise RecordError("expected a JSON object")
    return value


def expand_dotted(value: dict[str, Any]) -> dict[str, Any]:
    """``{"source.ip": x}`` as ``{"source": {"ip": x}}`` (nested objects merged). A name
    with more than MAX_DOTS dots is no field path anyone searches: it stays as it is
    (expanding ``a.a.a...`` thousands deep would only exhaust the stack)."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        item = expand_dotted(item) if isinstance(item, dict) else item
        if (
            "." in key
            and not key.startswith(".")
            and not key.endswith(".")
            and key.count(".") <= MAX_DOTS
        ):
            head, rest = key.split(".", 1)
            existing = out.get(head)
            nested = expand_dotted({rest: item})
            if isinstance(existing, dict):
                _merge(existing, nested)
            elif existing is None:
                out[head] = nested
            else:
                out[key] = item
        elif isinstance(item, dict) and isinstance(out.get(key), dict):
            _merge(out[key], item)
        else:
            out[key] = item
    return out


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def timestamp_of(value: Any, context: ParseContext) -> datetime | None:
    """The time ``value`` gives (epoch seconds or milliseconds, ISO 8601), None when it is
    not a time, ``TimestampOutOfRange`` when it is one no datetime holds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return from_epoch(value)
    if isinstance(value, str) and value:
        text = value.strip()
        if text.isascii() and text.replace(".", "", 1).isdigit():
            return from_epoch(text)
        try:
            return parse_iso(
                text.replace(" ", "T", 1) if "T" not in text else text, context.time_zone
            )
        except TimestampOutOfRange:
            raise
        except ValueError:
            return None
    if isinstance(value, dict):  # {"#attributes": {"SystemTime": ...}} and the like
        for inner in value.values():
            found = timestamp_of(inner, context)
            if found:
                return found
    return None


def read_time(value: Any, context: ParseContext) -> tuple[datetime | None, str | None]:
    """(the time, None), or (None, the claimed value as text) when it is out of range."""
    try:
        return timestamp_of(value, context), None
    except TimestampOutOfRange:
        return None, brief(value)


def find_timestamp(
    doc: dict[str, Any], original: dict[str, Any], context: ParseContext
) -> tuple[datetime | None, str | None]:
    """The first readable time under a TIME_KEYS name, else the first out-of-range claim."""
    claimed = None
    for key in TIME_KEYS:
        for source in (original, doc):
            if key in source:
                found, unheld = read_time(source[key], context)
                if found:
                    return found, None
                claimed = claimed or unheld
    return None, claimed


def _promote(doc: dict[str, Any], original: dict[str, Any]) -> None:
    for ecs_name, candidates in ALIASES.items():
        if get(doc, ecs_name) is not None:
            continue
        for key in candidates:
            value = original.get(key)
            if value in (None, "", "-") or isinstance(value, dict | list):
                continue
            if ecs_name.endswith(".ip"):
                value = ip_or_none(str(value))
            elif ecs_name.endswith(".port"):
                value = port_or_none(value)
            elif ecs_name == "network.transport":
                value = str(value).lower()
            elif not isinstance(value, str):
                value = str(value)
            if value is not None:
                put(doc, ecs_name, value)
                break


def _keep_under_json(doc: dict[str, Any], misplaced: dict[str, Any]) -> None:
    """Put ``misplaced`` under ``doc["json"]``, sharing it with a ``json`` key the sender
    sent: an object keeps its own keys first; any other value moves to ``json.json``
    (``json`` is not an ECS name, so no misplaced value takes that place)."""
    own = doc.get("json")
    if isinstance(own, dict):
        doc["json"] = {**misplaced, **own}
    elif "json" in doc:
        doc["json"] = {"json": own, **misplaced}
    else:
        doc["json"] = misplaced


def _parse(record: RawRecord, context: ParseContext) -> ParsedEvent:
    original = as_object(record)
    expanded = expand_dotted(original)
    doc: dict[str, Any] = {}
    misplaced: dict[str, Any] = {}  # non-ECS values under ECS names: kept under "json"
    for key, value in expanded.items():
        if key in ECS_ROOTS and (
            isinstance(value, dict) or key in ("@timestamp", "message", "tags")
        ):
            doc[key] = value
        elif key in ECS_ROOTS:
            misplaced[key] = value
        else:
            doc[key] = value
    if misplaced:
        _keep_under_json(doc, misplaced)
    _promote(doc, original)
    event = doc.setdefault("event", {})
    if isinstance(event, dict):
        event.setdefault("kind", "event")
        event.setdefault("dataset", "json")
    add_related(doc, "ip", get(doc, "source.ip"), get(doc, "destination.ip"))
    add_related(doc, "user", get(doc, "user.name"))
    event_type = "json"
    for key in TYPE_KEYS:
        value = get(doc, key) if "." in key else original.get(key)
        if isinstance(value, str | int) and str(value):
            event_type = str(value)
            break
    raw = record.data if isinstance(record.data, str) else json_raw(original)
    # ECS ``event.id`` is the sender's unique id for the event: re-sending it is a duplicate.
    event_id = get(doc, "event.id")
    timestamp, claimed = find_timestamp(doc, original, context)
    return ParsedEvent(
        timestamp=timestamp,
        claimed_time=claimed,
        event_type=event_type,
        fields=doc,
        raw=raw,
        dedupe_key=f"id:{event_id}" if isinstance(event_id, str | int) and str(event_id) else None,
    )


parse = per_record(_parse, "json")
