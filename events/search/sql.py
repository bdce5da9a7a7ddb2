"""A parsed query as a WHERE fragment on ``events`` (with %s parameters).

Fields with a column of their own (addresses, ports, type, protocol, source) use that
column and its index; CIDR is ``<<=`` on ``inet``. Every other field is a path into
``normalized_data``: an exact value becomes jsonb containment (``@>``, served by the GIN
index; a field holding a list matches when the list holds the value), a wildcard or a
comparison reads the value at the path. Free text is a case-insensitive match on the raw
log. ``NOT`` keeps events that lack the field.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from .query import BoolOp, Comparison, FreeText, Node, Not, Op, QueryError

Fragment = tuple[str, list[Any]]

INET, INT, TEXT = "inet", "int", "text"
COLUMNS: dict[str, tuple[str, str]] = {
    "source.ip": ("source_ip", INET),
    "source_ip": ("source_ip", INET),
    "destination.ip": ("dest_ip", INET),
    "dest_ip": ("dest_ip", INET),
    "source.port": ("source_port", INT),
    "source_port": ("source_port", INT),
    "destination.port": ("dest_port", INT),
    "dest_port": ("dest_port", INT),
    "event.type": ("event_type", TEXT),
    "event_type": ("event_type", TEXT),
    "protocol": ("protocol", TEXT),
}
SQL_OPS = {Op.GE: ">=", Op.LE: "<=", Op.GT: ">", Op.LT: "<"}
DOC = "normalized_data"


def like_pattern(value: str, *, contains: bool = False) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = escaped.replace("*", "%")
    return f"%{pattern}%" if contains else pattern


def _number(value: str) -> int | float | None:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return None


def _inet(term: Comparison, column: str) -> Fragment:
    if term.has_wildcard:
        return f"host({column}) LIKE %s", [like_pattern(term.value)]
    try:
        if term.op == Op.EQ and "/" in term.value:
            return f"{column} <<= %s::inet", [str(ipaddress.ip_network(term.value, strict=False))]
        address = str(ipaddress.ip_address(term.value))
    except ValueError as exc:
        raise QueryError(
            f"{term.field} needs an IP address or a CIDR block, not {term.value!r}"
        ) from exc
    if term.op == Op.EQ:
        return f"{column} = %s::inet", [address]
    return f"{column} {SQL_OPS[term.op]} %s::inet", [address]


def _int(term: Comparison, column: str) -> Fragment:
    number = _number(term.value)
    if not isinstance(number, int) or term.has_wildcard:
        raise QueryError(f"{term.field} needs a whole number, not {term.value!r}")
    return f"{column} {SQL_OPS.get(term.op, '=')} %s", [number]


def _text(term: Comparison, column: str) -> Fragment:
    if term.has_wildcard:
        return f"{column} ILIKE %s", [like_pattern(term.value)]
    return f"{column} {SQL_OPS.get(term.op, '=')} %s", [term.value]


def _nested(path: list[str], value: Any) -> str:
    for key in reversed(path):
        value = {key: value}
    return json.dumps(value)


def _document(term: Comparison) -> Fragment:
    path = term.field.split(".")
    if term.op == Op.EQ and term.value == "*" and not term.quoted:
        return f"{DOC} #> %s::text[] IS NOT NULL", [path]
    if term.has_wildcard:
        return f"{DOC} #>> %s::text[] ILIKE %s", [path, like_pattern(term.value)]
    number = _number(term.value)
    if term.op != Op.EQ:
        if number is None:
            return f"{DOC} #>> %s::text[] {SQL_OPS[term.op]} %s", [path, term.value]
        at, text = f"{DOC} #> %s::text[]", f"{DOC} #>> %s::text[]"
        value = f"CASE WHEN jsonb_typeof({at}) = 'number' THEN ({text})::numeric END"
        return f"{value} {SQL_OPS[term.op]} %s", [path, path, number]
    shapes: list[object] = [term.value, [term.value]]
    if number is not None and not term.quoted:
        shapes += [number, [number]]
    parts = " OR ".join([f"{DOC} @> %s::jsonb"] * len(shapes))
    return f"({parts})", [_nested(path, shape) for shape in shapes]


def _source(term: Comparison) -> Fragment:
    from events.models import Source

    table = Source._meta.db_table
    test, params = (
        ("name ILIKE %s", [like_pattern(term.value)])
        if term.has_wildcard
        else ("name = %s", [term.value])
    )
    return f"source_id IN (SELECT id FROM {table} WHERE {test})", params  # noqa: S608


def _comparison(term: Comparison) -> Fragment:
    if term.field == "source":
        return _source(term)
    column = COLUMNS.get(term.field)
    if column is None:
        return _document(term)
    name, kind = column
    return {INET: _inet, INT: _int, TEXT: _text}[kind](term, name)


def _term_uses_an_index(term: Comparison) -> bool:
    if term.has_wildcard:
        return False
    if term.field == "source" or term.field in COLUMNS:
        return True
    # Exact values of document fields are jsonb containment, which the GIN index serves.
    return term.op == Op.EQ and term.value != "*"


def uses_an_index(node: Node | None) -> bool:
    """Can an index find this query's candidate events, or must the range be read?
    An AND needs one indexed part, an OR all of them; NOT and free text never can."""
    if isinstance(node, Comparison):
        return _term_uses_an_index(node)
    if isinstance(node, BoolOp):
        parts = [uses_an_index(n) for n in node.nodes]
        return any(parts) if node.op == "AND" else all(parts)
    return False


def compile_query(node: Node | None) -> Fragment:
    if node is None:
        return "TRUE", []
    if isinstance(node, Comparison):
        return _comparison(node)
    if isinstance(node, FreeText):
        return "raw_data ILIKE %s", [like_pattern(node.text, contains=True)]
    if isinstance(node, Not):
        sql, params = compile_query(node.node)
        return f"NOT COALESCE(({sql}), FALSE)", params
    assert isinstance(node, BoolOp)
    parts = [compile_query(n) for n in node.nodes]
    sql = f" {node.op} ".join(f"({s})" for s, _ in parts)
    return f"({sql})", [p for _, params in parts for p in params]
