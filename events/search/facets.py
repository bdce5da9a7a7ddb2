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


def narrowed(query: str, extra: str) -> str:
    """``query`` AND ``extra``, with ``query`` in parentheses when it is an OR (which
    binds looser than AND). Raises QueryError for a query that does not parse."""
    tree = parse(query)
    if tree is None:
        return extra
    if isinstance(tree, BoolOp) and tree.op == "OR":
        return f"({query.strip()}) AND {extra}"
    return f"{query.strip()} AND {extra}"


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
