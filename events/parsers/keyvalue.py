"""Helpers shared by the header-plus-key/value formats (CEF, LEEF)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from .timestamps import from_epoch, parse_iso, with_zone

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


def split_escaped(text: str, separator: str, limit: int) -> list[str]:
    """Split on ``separator`` unless backslash-escaped, at most ``limit`` times."""
    parts, current, escape = [], [], False
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
    """The time formats devices put in CEF ``rt``/``end`` and LEEF ``devTime``."""
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return from_epoch(int(text))
    try:
        return parse_iso(text, zone)
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
