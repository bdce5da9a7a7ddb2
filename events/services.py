"""Writing events. Everything that stores events goes through ``events_store``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from socapp.ids import uuid7

from .models import Source
from .partitions import EVENT_ATTRIBUTES, EVENTS, ensure_partitions

EVENT_COLUMNS = (
    "event_id",
    "event_time",
    "source_ip",
    "dest_ip",
    "source_port",
    "dest_port",
    "protocol",
    "event_type",
    "raw_data",
    "normalized_data",
    "source_id",
    "event_type_id",
    "asset_id",
)


@dataclass
class EventRecord:
    """One normalized event, ready to store (the parsers of the ingest path produce these)."""

    event_time: datetime
    event_type: str
    normalized_data: dict[str, Any] = field(default_factory=dict)
    raw_data: str = ""
    source_ip: str | None = None
    dest_ip: str | None = None
    source_port: int | None = None
    dest_port: int | None = None
    protocol: str = ""
    event_type_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    attributes: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (value, type)
    event_id: uuid.UUID = field(default_factory=uuid7)


def events_store(*, source: Source, records: Sequence[EventRecord]) -> list[uuid.UUID]:
    """Store ``records`` for ``source`` with COPY, in one transaction; returns their ids.

    Rows are sorted by event time first: time-ordered arrival keeps each partition's
    indexes warm and loads measurably faster (DESIGN.md §5).
    """
    if not records:
        return []
    ordered = sorted(records, key=lambda r: r.event_time)
    times = [r.event_time for r in ordered]
    ensure_partitions(EVENTS, times)
    if any(r.attributes for r in ordered):
        ensure_partitions(EVENT_ATTRIBUTES, times)
    with transaction.atomic():
        with connection.cursor() as cursor:
            _copy_events(cursor, source, ordered)
            _copy_attributes(cursor, ordered)
        Source.objects.filter(pk=source.pk).update(last_seen=timezone.now())
    return [r.event_id for r in ordered]


def _copy_events(cursor: Any, source: Source, records: Sequence[EventRecord]) -> None:
    columns = ", ".join(EVENT_COLUMNS)
    with cursor.cursor.copy(f"COPY events ({columns}) FROM STDIN") as copy:
        for r in records:
            copy.write_row(
                (
                    r.event_id,
                    r.event_time,
                    r.source_ip,
                    r.dest_ip,
                    r.source_port,
                    r.dest_port,
                    r.protocol,
                    r.event_type,
                    r.raw_data,
                    Jsonb(r.normalized_data),
                    source.pk,
                    r.event_type_id,
                    r.asset_id,
                )
            )


def _copy_attributes(cursor: Any, records: Sequence[EventRecord]) -> None:
    rows = [
        (uuid7(), r.event_id, r.event_time, name, value, data_type)
        for r in records
        for name, (value, data_type) in r.attributes.items()
    ]
    if not rows:
        return
    with cursor.cursor.copy(
        "COPY event_attributes (attribute_id, event_id, event_time, name, value, data_type) "
        "FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)
