"""The event search as a CSV download: the search page's query and range, newest first,
at most ``SEARCH_EXPORT_MAX_ROWS`` rows, streamed as they are read, each download audited.

Cells are guarded against spreadsheet formulas by socapp/csvsafe.py (raw logs are
attacker-typed): text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
gets a leading ``'``; numbers stay numbers."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from socapp.audit import audit_record
from socapp.csvsafe import safe_cell
from socapp.users import User

from .fields import get
from .models import Event
from .search.facets import field_value
from .selectors import events_search_rows

COLUMNS: list[tuple[str, Any]] = [
    ("event_time", lambda e: e.event_time.isoformat()),
    ("event_id", lambda e: str(e.event_id)),
    ("source", lambda e: e.source.name),
    ("event.type", lambda e: e.event_type),
    ("source.ip", lambda e: e.source_ip),
    ("source.port", lambda e: e.source_port),
    ("destination.ip", lambda e: e.dest_ip),
    ("destination.port", lambda e: e.dest_port),
    ("protocol", lambda e: e.protocol),
    ("event.outcome", lambda e: get(e.normalized_data or {}, "event.outcome")),
    ("user.name", lambda e: get(e.normalized_data or {}, "user.name")),
    ("host.name", lambda e: get(e.normalized_data or {}, "host.name")),
    ("raw", lambda e: e.raw_data),
]


class _Line:
    """A file-like the csv writer writes one line into, handed straight back."""

    def write(self, text: str) -> str:
        return text


def _lines(events: Iterator[Event], extra: Sequence[str]) -> Iterator[bytes]:
    # Text quoted, numbers bare (as the reports do): an importer reads "22" as text.
    writer = csv.writer(_Line(), quoting=csv.QUOTE_NONNUMERIC)
    columns = COLUMNS[:-1] + [(name, _field(name)) for name in extra] + COLUMNS[-1:]
    yield writer.writerow([name for name, _ in columns]).encode()
    for event in events:
        yield writer.writerow([safe_cell(read(event)) for _, read in columns]).encode()


def _field(name: str) -> Any:
    return lambda event: field_value(event, name)


def events_export(
    *,
    actor: User,
    query: str,
    since: datetime,
    until: datetime,
    columns: Sequence[str] = (),
    remote_addr: str | None = None,
) -> Iterator[bytes]:
    """The CSV lines of ``actor``'s search (the fixed columns, then ``columns``, the
    page's chosen ones, then the raw log), after auditing it (the download is its own
    read entry). Raises QueryError, before auditing, for a query that does not parse."""
    limit = settings.SEARCH_EXPORT_MAX_ROWS
    rows = events_search_rows(actor, query=query, since=since, until=until, limit=limit)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="events.search_export",
            changes={"query": query, "since": since, "until": until, "max_rows": limit},
            remote_addr=remote_addr,
        )
    return _lines(rows, columns)
