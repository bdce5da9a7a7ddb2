"""Discovery of unknown hosts: which of our addresses and host names events mention
that the inventory does not (assets.services.discovery_record keeps the list).

A periodic task scans the events that **arrived** since its last run, a bounded window
at a time. Arrival, not event time: a forwarder that sends a day's backlog stores events
stamped a day ago, after a scan by event time has passed that day, and they would never
be looked at. The arrival clock is the event id: a UUIDv7 made as ingest reads the
event, so its leading 48 bits are the arrival time to the millisecond, and the primary
key ``(event_id, event_time)`` of every partition is the arrival index (``created_at``
has none, and one more index on the event table is a cost on every ingested row).

Events are partitioned by event time, so the scan also bounds event time: from
``ASSETS_DISCOVERY_LATE_HOURS`` before the window (how late an event may arrive and
still count) to ``AHEAD`` after it (a sender's clock running fast). A scan then probes
the primary key of the few partitions in that range for the window's ids only: its
work is the events that arrived in the window, however many older events those
partitions hold.

Two grouped queries: addresses (source and destination, inside
``ASSETS_DISCOVERY_NETWORKS``) and ``host.name``. Each returns at most ``TOP`` values,
the most frequent first, so a scan costs the window's events once and a bounded answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from assets.selectors import discovery_cursor
from assets.services import discovery_record
from socapp.ids import uuid7_floor

from .models import Event

TOP = 5000
MAX_WINDOW = timedelta(hours=6)  # the arrivals one run scans at most; the next one goes on
SETTLE = timedelta(minutes=1)  # an id is made as the event is read, before its commit
AHEAD = timedelta(hours=1)  # event times this far after arrival still count


@dataclass(frozen=True)
class Scan:
    """What one run reads: ids made in [arrived_from, arrived_to), with event times
    in [time_from, time_to]."""

    arrived_from: datetime
    arrived_to: datetime

    @property
    def time_from(self) -> datetime:
        return self.arrived_from - timedelta(hours=settings.ASSETS_DISCOVERY_LATE_HOURS)

    @property
    def time_to(self) -> datetime:
        return self.arrived_to + AHEAD

    def where(self, ip_column: str | None = None) -> tuple[str, list[Any]]:
        sql = "event_id >= %s AND event_id < %s AND event_time >= %s AND event_time <= %s"
        params: list[Any] = [
            uuid7_floor(self.arrived_from),
            uuid7_floor(self.arrived_to),
            self.time_from,
            self.time_to,
        ]
        if ip_column:
            sql += f" AND {ip_column} <<= ANY(%s::inet[])"
            params.append(list(settings.ASSETS_DISCOVERY_NETWORKS))
        return sql, params


def window(now: datetime) -> Scan:
    """The arrivals the next run reads: from the cursor (or ``MAX_WINDOW`` ago on a first
    run, never more than ``ASSETS_DISCOVERY_DAYS`` ago), ``MAX_WINDOW`` at most."""
    floor = now - timedelta(days=settings.ASSETS_DISCOVERY_DAYS)
    cursor = discovery_cursor()
    start = max(cursor.scanned_until, floor) if cursor else now - MAX_WINDOW
    return Scan(start, min(now - SETTLE, start + MAX_WINDOW))


def addresses_sql(scan: Scan) -> tuple[str, list[Any]]:
    table = Event._meta.db_table
    source, source_params = scan.where("source_ip")
    dest, dest_params = scan.where("dest_ip")
    sql = (
        "SELECT host(ip), min(t), max(t), count(*) FROM ("  # noqa: S608 - our table
        f" SELECT source_ip AS ip, event_time AS t FROM {table} WHERE {source}"
        f" UNION ALL SELECT dest_ip, event_time FROM {table} WHERE {dest}"
        ") seen GROUP BY ip ORDER BY count(*) DESC LIMIT %s"
    )
    return sql, [*source_params, *dest_params, TOP]


def host_names_sql(scan: Scan) -> tuple[str, list[Any]]:
    table = Event._meta.db_table
    where, params = scan.where()
    sql = (
        "SELECT name, min(t), max(t), count(*) FROM ("  # noqa: S608 - our table
        " SELECT lower(normalized_data->'host'->>'name') AS name, event_time AS t"
        f" FROM {table} WHERE {where}"
        ") seen WHERE name IS NOT NULL AND length(name) <= 253"
        " GROUP BY name ORDER BY count(*) DESC LIMIT %s"
    )
    return sql, [*params, TOP]


def _rows(kind: str, query: tuple[str, list[Any]]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(*query)
        return [(kind, *row) for row in cursor.fetchall()]


def discover_unknown_hosts(now: datetime | None = None) -> int:
    """One scan (see the module's docstring); the number of unknown hosts it noted."""
    scan = window(now or timezone.now())
    if scan.arrived_to <= scan.arrived_from:
        return 0
    seen = [*_rows("ip", addresses_sql(scan)), *_rows("host", host_names_sql(scan))]
    return discovery_record(seen=seen, scanned_until=scan.arrived_to)
