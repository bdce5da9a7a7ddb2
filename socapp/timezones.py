"""The IANA time zones a user may choose (zoneinfo.available_timezones, read once)."""

from __future__ import annotations

import zoneinfo
from functools import cache

# Names zoneinfo lists for backward compatibility only ("posixrules", "Factory") or that
# read like offsets with the wrong sign (Etc/GMT+1 is UTC-01:00): offered they confuse.
_HIDDEN_PREFIXES = ("Etc/", "posix", "right/", "Factory", "localtime")


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every zone offered, sorted; UTC first."""
    names = {n for n in zoneinfo.available_timezones() if not n.startswith(_HIDDEN_PREFIXES)}
    names.discard("UTC")
    return ("UTC", *sorted(names))


def is_time_zone(name: str) -> bool:
    return name in _offered()


@cache
def _offered() -> frozenset[str]:
    return frozenset(time_zone_names())


def zone_or_utc(name: str) -> zoneinfo.ZoneInfo:
    """The zone of that name; UTC for a name no longer known (tzdata dropped it)."""
    try:
        return zoneinfo.ZoneInfo(name if is_time_zone(name) else "UTC")
    except zoneinfo.ZoneInfoNotFoundError:
        return zoneinfo.ZoneInfo("UTC")
