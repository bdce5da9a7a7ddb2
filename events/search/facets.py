"""The field sidebar of the search page: the most common values of a few fields among
the events shown, and the query that keeps (or drops) the events holding one of them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from events.fields import get

from .query import BoolOp, parse

# A value that needs no quotes: no space, parenthesis, quote, backslash or wildcard,
# and not a keyword. Anything else is quoted, with \ and " escaped.
_BARE = re.compile(r'[^\s()"*\\]+')
_KEYWORDS = {"AND", "OR", "NOT"}


def term(field: str, value: str) -> str:
    """``field:value`` in the search language, meaning exactly ``value`` (quoted when
    it has to be, so that ``*`` in it is no wildcard and spaces do not split it)."""
    if _BARE.fullmatch(value) and value not in _KEYWORDS:
        return f"{field}:{value}"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}:"{escaped}"'


def and_prefix(query: str) -> str:
    """What goes before a term to AND it to ``query``: nothing for the empty query,
    ``(query) AND `` for an OR (which binds looser than AND), else ``query AND ``.
    Raises QueryError for a query that does not parse."""
    tree = parse(query)
    if tree is None:
        return ""
    if isinstance(tree, BoolOp) and tree.op == "OR":
        return f"({query.strip()}) AND "
    return f"{query.strip()} AND "


def narrowed(query: str, extra: str) -> str:
    """``query`` AND ``extra`` (see ``and_prefix``)."""
    return and_prefix(query) + extra


@dataclass(frozen=True)
class EventField:
    """One row of an event's field table: a dotted name, its value as shown, and the
    queries filtering for and out that value ("" where the language cannot say it)."""

    field: str
    value: str
    filter_for: str = ""
    filter_out: str = ""
    column: str = ""  # the table's own column behind the field, if it is one


def _flat(doc: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    """(dotted name, value) of every leaf of a document; a list of plain values is one
    entry per value, a list holding objects one entry (the language has no list index)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _flat(value, f"{path}.{key}" if path else str(key))
    elif isinstance(doc, list) and all(not isinstance(v, dict | list) for v in doc):
        for value in doc:
            yield path, value
    else:
        yield path, doc


EVENT_COLUMNS = [
    ("event.type", "event_type"),
    ("source.ip", "source_ip"),
    ("source.port", "source_port"),
    ("destination.ip", "dest_ip"),
    ("destination.port", "dest_port"),
    ("protocol", "protocol"),
]


def event_fields(event: Any, prefix: str) -> list[EventField]:
    """The fields of one event, the table's columns first (under their ECS names), then
    its document flattened to dotted names, sorted; ``prefix`` is ``and_prefix`` of the
    current query."""
    import json

    fields = [_field("source", event.source.name, prefix)]
    columns = {}
    for name, column in EVENT_COLUMNS:
        columns[name] = value = getattr(event, column)
        if value is not None and value != "":
            fields.append(_field(name, value, prefix, column))
    for name, value in sorted(_flat(event.normalized_data or {}), key=lambda row: row[0]):
        if name in columns:
            # A search on this name reads the column: the document's copy is shown
            # when it differs, without filters that would not find it.
            if str(value) != str(columns[name]):
                fields.append(EventField(name, json.dumps(value)))
        elif value is not None and value != "":
            fields.append(_field(name, value, prefix))
    return fields


def _field(name: str, value: Any, prefix: str, column: str = "") -> EventField:
    import json

    plain = _values(value)
    if not plain or not name:
        return EventField(name, json.dumps(value), column=column)
    wanted = term(name, plain[0])
    return EventField(name, plain[0], prefix + wanted, prefix + "NOT " + wanted, column)


def _column(name: str) -> Callable[[Any], Any]:
    return lambda event: getattr(event, name)


def _document(path: str) -> Callable[[Any], Any]:
    return lambda event: get(event.normalized_data or {}, path)


# The fields of the sidebar, in order: the table's columns first, then document fields.
SIDEBAR_FIELDS: list[tuple[str, Callable[[Any], Any]]] = [
    ("event.type", _column("event_type")),
    ("source", lambda event: event.source.name),
    ("source.ip", _column("source_ip")),
    ("destination.ip", _column("dest_ip")),
    ("destination.port", _column("dest_port")),
    ("event.outcome", _document("event.outcome")),
    ("user.name", _document("user.name")),
    ("host.name", _document("host.name")),
]
TOP_VALUES = 5


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    filter_for: str  # the query narrowed to events with this value
    filter_out: str  # the query narrowed to events without it


@dataclass(frozen=True)
class Facet:
    field: str
    values: list[FacetValue]
    seen: int  # how many of the events hold the field


def _values(raw: Any) -> list[str]:
    """The searchable values of a field: a string or number, or each of a list's."""
    items = raw if isinstance(raw, list) else [raw]
    # bool is an int, but `field:true` would not find a JSON true: left out.
    return [str(v) for v in items if isinstance(v, str | int | float) and not isinstance(v, bool)]


def facets(events: Iterable[Any], query: str) -> list[Facet]:
    """The top values of each sidebar field among ``events`` with their filter queries;
    fields no event holds are left out."""
    events = list(events)
    found = []
    for field, read in SIDEBAR_FIELDS:
        counts: Counter[str] = Counter()
        seen = 0
        for event in events:
            values = _values(read(event))
            seen += bool(values)
            counts.update(set(values))
        if not counts:
            continue
        top = [
            FacetValue(
                value,
                count,
                narrowed(query, term(field, value)),
                narrowed(query, "NOT " + term(field, value)),
            )
            for value, count in counts.most_common(TOP_VALUES)
        ]
        found.append(Facet(field, top, seen))
    return found


# A column of the results: a field name as the language writes one; at most this many.
_FIELD_NAME = re.compile(r"[A-Za-z_@][\w.@-]*")
MAX_COLUMNS = 8
_COLUMN_OF = dict(EVENT_COLUMNS) | {"source_ip": "source_ip", "dest_ip": "dest_ip"}


def chosen_columns(names: Iterable[str]) -> list[str]:
    """The extra result columns asked for (``?col=`` in the URL): field names only, each
    once, the first ``MAX_COLUMNS``; anything else is dropped."""
    chosen: list[str] = []
    for name in names:
        if _FIELD_NAME.fullmatch(name) and len(name) <= 200 and name not in chosen:
            chosen.append(name)
    return chosen[:MAX_COLUMNS]


def field_value(event: Any, name: str) -> str:
    """What a result column shows: the table's column for its names, ``source``'s name,
    else the document's value (a list's values joined with commas)."""
    import json

    if name == "source":
        return str(event.source.name)
    value = (
        getattr(event, _COLUMN_OF[name])
        if name in _COLUMN_OF
        else get(event.normalized_data or {}, name)
    )
    if value is None:
        return ""
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value, default=str)
