"""One parser per log format. ``PARSERS[format]`` is a pure function
``parse(records, context) -> Iterator[ParsedEvent | Rejected]`` (see base.py)."""

from __future__ import annotations

from .base import ParseContext, ParsedEvent, Parser, RawRecord, Rejected
from .syslog import parse as parse_syslog

PARSERS: dict[str, Parser] = {
    "syslog": parse_syslog,
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
