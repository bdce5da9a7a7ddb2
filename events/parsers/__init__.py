"""One parser per log format. ``PARSERS[format]`` is a pure function
``parse(records, context) -> Iterator[ParsedEvent | Rejected]`` (see base.py)."""

from __future__ import annotations

from . import access, cef, cloudtrail, jsonlog, leef, suricata, syslog, windows, zeek
from .base import ParseContext, ParsedEvent, Parser, RawRecord, Rejected

PARSERS: dict[str, Parser] = {
    "syslog": syslog.parse,
    "cef": cef.parse,
    "leef": leef.parse,
    "json": jsonlog.parse,
    "suricata": suricata.parse,
    "zeek": zeek.parse,
    "access": access.parse,
    "windows": windows.parse,
    "cloudtrail": cloudtrail.parse,
}


def parser_for(log_format: str) -> Parser:
    try:
        return PARSERS[log_format]
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
