"""An event search turned into a Sigma detection rule (the first draft of a rule an
analyst found by hunting). Each term becomes a named selection and the query's ANDs,
ORs, NOTs and parentheses become the condition, so the rule matches what the search
found; it is saved inactive, to be backtested before it is switched on."""

from __future__ import annotations

import uuid
from typing import Any

import yaml

from events.search.query import BoolOp, Comparison, FreeText, Node, Not, Op, parse

MODIFIERS = {Op.GE: "gte", Op.LE: "lte", Op.GT: "gt", Op.LT: "lt"}
# Column names the search knows under a second name: the rule uses the document's.
DOCUMENT_NAMES = {
    "source_ip": "source.ip",
    "dest_ip": "destination.ip",
    "source_port": "source.port",
    "dest_port": "destination.port",
}


def _value(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text


class _Builder:
    def __init__(self) -> None:
        self.selections: dict[str, Any] = {}

    def name(self, body: Any) -> str:
        name = f"term{len(self.selections) + 1}"
        self.selections[name] = body
        return name

    def condition(self, node: Node, nested: bool = False) -> str:
        if isinstance(node, Comparison):
            field = DOCUMENT_NAMES.get(node.field, node.field)
            if node.op != Op.EQ:
                field += f"|{MODIFIERS[node.op]}"
            elif field.endswith(".ip") and "/" in node.value:
                field += "|cidr"
            value = _value(node.value) if node.op != Op.EQ or not node.quoted else node.value
            return self.name({field: value})
        if isinstance(node, FreeText):
            return self.name([node.text])
        if isinstance(node, Not):
            return f"not {self.condition(node.node, True)}"
        assert isinstance(node, BoolOp)
        joined = f" {node.op.lower()} ".join(self.condition(n, True) for n in node.nodes)
        return f"({joined})" if nested else joined


def rule_from_search(query: str, *, title: str = "") -> str:
    """Sigma YAML for ``query``. Raises QueryError when it does not parse; an empty
    query is refused (a rule matching every event is never what anyone wants)."""
    node = parse(query)
    if node is None:
        raise ValueError("An empty search matches every event; narrow it first.")
    builder = _Builder()
    condition = builder.condition(node)
    rule = {
        "title": title or f"Search: {query[:80]}",
        "id": str(uuid.uuid4()),
        "status": "experimental",
        "description": f"Made from the event search: {query}",
        "logsource": {"category": "any"},  # socapp: every event the search could find
        "detection": {**builder.selections, "condition": condition},
        "level": "medium",
    }
    return yaml.safe_dump(rule, sort_keys=False, allow_unicode=True)
