"""Reading a field of a stored event's document by its dotted path (``source.ip``).

The one getter: parsers fill documents with it, the engine and the console read them
with it."""

from __future__ import annotations

from typing import Any


def get(doc: dict[str, Any], path: str, default: Any = None) -> Any:
    """The value at ``path`` through nested objects, or ``default`` where a step is
    missing or not an object."""
    node: Any = doc
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node
