"""The console's one way of writing a moment: 24-hour, to the second, in the user's time
zone (socapp.middleware.UserTimeZoneMiddleware activates it), the zone always shown —
``2026-12-07 14:03:22 CET``. Templates use the ``when`` filter
(socapp/templatetags/socapp_time.py); the API keeps ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def zone_label(moment: datetime) -> str:
    """The zone's abbreviation where it has one (CET, UTC, EST); otherwise its offset
    (UTC+05:45): zoneinfo writes zones without a letter abbreviation as "+0545" or "-03",
    which alone reads like arithmetic."""
    name = moment.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = moment.strftime("%z")  # "+0545"
    if not offset:
        return "UTC"
    return f"UTC{offset[0]}{offset[1:3]}:{offset[3:5]}"


def when_text(value: datetime, *, seconds: bool = True) -> str:
    """The moment in the current zone as text: ``2026-12-07 14:03:22 CET``."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{shown} {zone_label(local)}"
