"""Reading timestamps, and the rule for the ones that leave something out.

- An offset or ``Z`` in the timestamp wins.
- No offset: the timestamp is local time of the source's ``time_zone`` (Source setting,
  UTC unless set).
- No year (RFC 3164 ``Feb 21 21:54:44``): the year that puts the timestamp nearest before
  the moment it was received, allowing it to be up to one day ahead (clock skew); so a
  ``Dec 31`` line received on 1 January is last year's.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
FUTURE_SKEW = timedelta(days=1)

_BSD = re.compile(
    r"(?P<mon>[A-Za-z]{3}) +(?P<day>\d{1,2}) (?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<frac>\d{1,6}))?"
)


class TimestampOutOfRange(ValueError):
    """A well-formed time that no datetime can hold: an epoch of 1e20 or -99999999999,
    ``9999-12-31T23:59:59-14:00`` (year 10000 in UTC). Unlike a malformed one, it is a
    claim the record made: parsers keep it (``ParsedEvent.claimed_time``) or say so."""


def brief(value: Any, limit: int = 64) -> str:
    """A claimed value as short text for a reason or a field (``str`` of a 5,000-digit
    number raises, and a reason must not carry a megabyte)."""
    try:
        text = value if isinstance(value, str) else str(value)
    except ValueError:
        return "a number too large to print"
    return text if len(text) <= limit else text[:limit] + "…"


def with_zone(moment: datetime, zone: tzinfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_iso(text: str, zone: tzinfo = UTC) -> datetime:
    """RFC 3339 / ISO 8601, with ``Z``, ``+hh:mm``, ``+hhmm`` or no offset."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python wants +hh:mm; syslog writers also use +hhmm.
    value = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value)
    # More than microseconds (nanoseconds from Go or Zeek) is cut to what Python holds.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    moment = with_zone(datetime.fromisoformat(value), zone)
    if moment.year in (1, 9999):  # the offset may push it out of range in UTC
        try:
            moment.astimezone(UTC)
        except OverflowError as exc:
            raise TimestampOutOfRange(f"{brief(text)} is out of range once in UTC") from exc
    return moment


def resolve_year(
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    micro: int,
    zone: tzinfo,
    received_at: datetime,
) -> datetime:
    received_local = received_at.astimezone(zone)
    for year in (received_local.year, received_local.year - 1):
        try:
            candidate = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
        except ValueError:  # 29 February in a common year
            continue
        if candidate <= received_at + FUTURE_SKEW:
            return candidate
    raise ValueError(f"no year makes {month}/{day} a real date before {received_at:%Y-%m-%d}")


_bsd_cache: dict[tuple[str, tzinfo, date], datetime] = {}


def parse_bsd(text: str, zone: tzinfo, received_at: datetime) -> datetime:
    """``Mmm dd hh:mm:ss[.ffffff]``, with the year rule above. Remembered per day of
    receipt: a busy sender repeats the same second many times."""
    key = (text, zone, received_at.date())
    cached = _bsd_cache.get(key)
    if cached is None:
        if len(_bsd_cache) > 50_000:
            _bsd_cache.clear()
        cached = _bsd_cache[key] = _parse_bsd(text, zone, received_at)
    return cached


def _parse_bsd(text: str, zone: tzinfo, received_at: datetime) -> datetime:
    match = _BSD.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a BSD timestamp: {text!r}")
    month = MONTHS.get(match["mon"].lower())
    if month is None:
        raise ValueError(f"unknown month {match['mon']!r}")
    micro = int((match["frac"] or "0").ljust(6, "0"))
    return resolve_year(
        month,
        int(match["day"]),
        int(match["h"]),
        int(match["m"]),
        int(match["s"]),
        micro,
        zone,
        received_at,
    )


def from_epoch(value: float | int | str) -> datetime:
    """Seconds (or milliseconds, past 1e11) since 1970. ``ValueError`` for what is not a
    number, ``TimestampOutOfRange`` for a number no datetime holds."""
    try:
        seconds = float(value)
    except OverflowError as exc:  # an integer beyond any float
        raise TimestampOutOfRange(f"epoch time {brief(value)} is out of range") from exc
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    if not math.isfinite(seconds):
        raise TimestampOutOfRange(f"epoch time {brief(value)} is out of range")
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:  # beyond year 1..9999 or time_t
        raise TimestampOutOfRange(f"epoch time {brief(value)} is out of range") from exc
