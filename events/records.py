"""One normalized event on its way to storage: what parsing and normalization make and
what the writers in events/services.py store. Its own module so that normalization
(events/normalize.py) and storage (events/services.py) both use it without importing
each other."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from socapp.ids import uuid7


@dataclass
class EventRecord:
    """One normalized event, ready to store."""

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
    batch_id: uuid.UUID | None = None
    dedupe_key: str | None = None
    attributes: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (value, type)
    event_id: uuid.UUID = field(default_factory=uuid7)
    # normalized_data already encoded for jsonb (ingestion encodes it before the row joins
    # a COPY, so a document PostgreSQL would refuse costs that record, not the batch).
    normalized_json: bytes | None = None
    # Indicators the event carries: (IOC id, field), recorded as IocMatch rows with it.
    ioc_matches: list[tuple[str, str]] = field(default_factory=list)
