"""One parser per log format. ``PARSERS[format]`` is a pure function
``parse(records, context) -> Iterator[ParsedEvent | Rejected]`` (see base.py)."""

from __future__ import annotations

from . import access, cef, cloudtrail, jsonlog, leef, snort, suricata, syslog, windows, zeek
from .base import ParseContext, ParsedEvent, Parser, RawRecord, Rejected, isolated

PARSERS: dict[str, Parser] = {
    "syslog": syslog.parse,
    "cef": cef.parse,
    "leef": leef.parse,
    "json": jsonlog.parse,
    "suricata": suricata.parse,
    "snort": snort.parse,
    "zeek": zeek.parse,
    "access": access.parse,
    "windows": windows.parse,
    "cloudtrail": cloudtrail.parse,
}


_GUARDED = {name: isolated(parse, name) for name, parse in PARSERS.items()}


def parser_for(log_format: str) -> Parser:
    """The parser for ``log_format``, wrapped so that even a bug in its loop costs one
    record, never the batch (``isolated``)."""
    try:
        return _GUARDED[log_format]
    except KeyError as exc:
        raise ValueError(f"no parser for format {log_format!r}") from exc


__all__ = [
    "PARSERS",
    "ParseContext",
    "ParsedEvent",
    "Parser",
    "RawRecord",
    "Rejected",
    "parser_for",
]
