"""Discovery of unknown hosts: which of our addresses and host names events mention
that the inventory does not (assets.services.discovery_record keeps the list).

A periodic task scans the events stored since its last run, a bounded window at a time,
with two grouped queries over the ``event_time`` index: addresses (source and
destination, inside ``ASSETS_DISCOVERY_NETWORKS``) and ``host.name``. Each returns at
most ``TOP`` values, the most frequent first, so a scan costs the window's events once
and a bounded answer, however many hosts there are.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from assets.selectors import discovery_cursor
from assets.services import discovery_record

from .models import Event

TOP = 5000
MAX_WINDOW = timedelta(hours=6)  # what one run scans at most; the next one goes on
SETTLE = timedelta(minutes=1)  # events this fresh may still be arriving in order


def _window(now: datetime) -> tuple[datetime, datetime]:
    floor = now - timedelta(days=settings.ASSETS_DISCOVERY_DAYS)
    cursor = discovery_cursor()
    start = max(cursor.scanned_until, floor) if cursor else now - MAX_WINDOW
    return start, min(now - SETTLE, start + MAX_WINDOW)


def _addresses(start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    table = Event._meta.db_table
    networks = list(settings.ASSETS_DISCOVERY_NETWORKS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT host(ip), min(t), max(t), count(*) FROM ("  # noqa: S608 - our table
            f" SELECT source_ip AS ip, event_time AS t FROM {table}"
            "  WHERE event_time > %s AND event_time <= %s AND source_ip <<= ANY(%s::inet[])"
            " UNION ALL"
            f" SELECT dest_ip, event_time FROM {table}"
            "  WHERE event_time > %s AND event_time <= %s AND dest_ip <<= ANY(%s::inet[])"
            ") seen GROUP BY ip ORDER BY count(*) DESC LIMIT %s",
            [start, end, networks, start, end, networks, TOP],
        )
        return [("ip", *row) for row in cursor.fetchall()]


def _host_names(start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, min(t), max(t), count(*) FROM ("  # noqa: S608 - our table
            " SELECT lower(normalized_data->'host'->>'name') AS name, event_time AS t"
            f" FROM {table} WHERE event_time > %s AND event_time <= %s"
            ") seen WHERE name IS NOT NULL AND length(name) <= 253"
            " GROUP BY name ORDER BY count(*) DESC LIMIT %s",
            [start, end, TOP],
        )
        return [("host", *row) for row in cursor.fetchall()]


def discover_unknown_hosts(now: datetime | None = None) -> int:
    """One scan (see the module's docstring); the number of unknown hosts it noted."""
    now = now or timezone.now()
    start, end = _window(now)
    if end <= start:
        return 0
    seen = [*_addresses(start, end), *_host_names(start, end)]
    return discovery_record(seen=seen, scanned_until=end)
