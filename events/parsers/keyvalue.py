"""Helpers shared by the header-plus-key/value formats (CEF, LEEF)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from .base import (
    RawRecord,
    RecordError,
    int_or_none,
    ip_or_none,
    port_or_none,
    put,
    transport_name,
)
from .timestamps import TimestampOutOfRange, from_epoch, parse_iso, with_zone

_DATE_FORMATS = (
    "%b %d %Y %H:%M:%S.%f",
    "%b %d %Y %H:%M:%S",
    "%b %d %H:%M:%S.%f",
    "%b %d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%d/%b/%Y:%H:%M:%S",
)
_ZONE_SUFFIX = re.compile(r"\s+(?:[A-Z]{2,5}|[+-]\d{2}:?\d{2})$")


def message_text(record: RawRecord, log_format: str) -> str:
    """The line to read: the record itself, or the ``message`` of an object (HEC, JSON
    shippers)."""
    text = record.data.get("message") if isinstance(record.data, dict) else record.data
    if not isinstance(text, str):
        raise RecordError(f"{log_format} expects a text line or an object with a 'message' text")
    return text


def split_escaped(text: str, separator: str, limit: int) -> list[str]:
    """Split on ``separator`` unless backslash-escaped, at most ``limit`` times."""
    parts: list[str] = []
    current: list[str] = []
    escape = False
    for position, char in enumerate(text):
        if escape:
            current.append(char if char in (separator, "\\") else "\\" + char)
            escape = False
        elif char == "\\":
            escape = True
        elif char == separator and len(parts) < limit:
            parts.append("".join(current))
            current = []
            if len(parts) == limit:
                parts.append(text[position + 1 :])
                return parts
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def device_time(
    value: str, zone: tzinfo = UTC, received_at: datetime | None = None
) -> datetime | None:
    """The time formats devices put in CEF ``rt``/``end`` and LEEF ``devTime``: None when
    it is none of them, ``TimestampOutOfRange`` when it is one no datetime holds."""
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return from_epoch(text)
    try:
        return parse_iso(text, zone)
    except TimestampOutOfRange:
        raise
    except ValueError:
        pass
    zone_text = _ZONE_SUFFIX.search(text)
    core = text[: zone_text.start()] if zone_text else text
    for fmt in _DATE_FORMATS:
        try:
            moment = datetime.strptime(core, fmt)
        except ValueError:
            continue
        if "%Y" not in fmt and received_at is not None:
            moment = moment.replace(year=received_at.year)
        return with_zone(moment, zone)
    return None


def copy_to_ecs(doc: dict[str, Any], values: dict[str, Any], mapping: dict[str, str]) -> None:
    """Copy ``values[name]`` to ``doc`` at ``mapping[name]`` for every name present, typed
    by what the ECS field holds (addresses, ports, counts, transports)."""
    for name, ecs_name in mapping.items():
        value = values.get(name)
        if value is None or value == "":
            continue
        if ecs_name.endswith(".ip"):
            value = ip_or_none(str(value))
        elif ecs_name.endswith(".port"):
            value = port_or_none(value)
        elif ecs_name.endswith((".pid", ".bytes", ".size", ".packets")):
            value = int_or_none(value)
        elif ecs_name == "network.transport":
            value = transport_name(value)
        put(doc, ecs_name, value)


def put_observer(doc: dict[str, Any], vendor: str, product: str, version: str) -> None:
    put(doc, "observer.vendor", vendor)
    put(doc, "observer.product", product)
    put(doc, "observer.version", version)
