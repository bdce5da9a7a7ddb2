"""Text PostgreSQL can store: no NUL character.

PostgreSQL stores no NUL (``\\x00``) in ``text`` and no ``\\u0000`` in ``jsonb``; a value
holding one fails in the database, after the work before it was done. The API's parsers
and middleware refuse such input at the door (socapp.api.parsers, socapp.middleware);
services that store free text check it too (``refuse_nul``), so a form, a task or a
command reaching them another way gets a ValidationError naming the field, not a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict

NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."


def nul_paths(value: Any, path: str = "") -> Iterator[str]:
    """Where in a value a NUL sits: dotted paths into documents (``parameters.ip``,
    ``alerts.0``; ``(name)`` for a key), ``path`` itself for a string holding one."""
    if isinstance(value, str):
        if NUL in value:
            yield path
    elif isinstance(value, MultiValueDict):
        for key, values in value.lists():
            yield from nul_paths(key, _join(path, "(name)"))
            for item in values:
                # An uploaded file: its name is what gets stored.
                yield from nul_paths(getattr(item, "name", item), _join(path, key))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from nul_paths(str(key), _join(path, "(name)"))
            yield from nul_paths(item, _join(path, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from nul_paths(item, _join(path, str(index)))


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def printable(path: str) -> str:
    """A field name fit to show (a key may hold the NUL itself)."""
    return path.replace(NUL, "\\x00")


def refuse_nul(**fields: Any) -> None:
    """ValidationError naming every field whose value (text, or any string inside a
    JSON document) holds a NUL."""
    errors = {
        name: [NUL_MESSAGE]
        for name, value in fields.items()
        if next(nul_paths(value), None) is not None
    }
    if errors:
        raise ValidationError(errors)
