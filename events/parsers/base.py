"""What every parser shares: its input and output types and ECS helpers.

A parser is a pure function of its input: ``parse(records, context)`` yields one
``ParsedEvent`` per event it understood and one ``Rejected`` per record it could not,
with the reason. It never touches the database; the ingest service stores what it yields.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

# ECS top-level field sets. A source's own field names are kept next to the ECS ones in
# normalized_data, unless one of them would overwrite an ECS field set of the same name.
ECS_ROOTS = frozenset(
    {
        "@timestamp",
        "agent",
        "as",
        "client",
        "cloud",
        "container",
        "data_stream",
        "destination",
        "device",
        "dll",
        "dns",
        "ecs",
        "email",
        "error",
        "event",
        "faas",
        "file",
        "group",
        "host",
        "http",
        "labels",
        "log",
        "message",
        "network",
        "observer",
        "orchestrator",
        "organization",
        "package",
        "process",
        "registry",
        "related",
        "rule",
        "server",
        "service",
        "source",
        "span",
        "tags",
        "threat",
        "tls",
        "trace",
        "transaction",
        "url",
        "user",
        "user_agent",
        "vulnerability",
    }
)


@dataclass(frozen=True)
class ParseContext:
    """What a parser may know besides the record itself."""

    received_at: datetime
    time_zone: tzinfo = UTC
    source_name: str = ""
    sender: str | None = None  # the peer address of a syslog sender


@dataclass(frozen=True)
class RawRecord:
    """One unit of input: a line of text, or a JSON object already decoded.

    ``original`` keeps the bytes as they arrived when decoding them lost something
    (invalid UTF-8): the quarantine stores those, not the repaired text.
    """

    number: int
    data: str | dict[str, Any]
    original: bytes | None = None


@dataclass
class ParsedEvent:
    timestamp: datetime | None  # None: use the time it was received
    event_type: str
    fields: dict[str, Any]  # the normalized_data document: ECS fields + the source's own
    raw: str
    dedupe_key: str | None = None
    number: int = 0


@dataclass
class Rejected:
    number: int
    raw: str | bytes
    reason: str


ParseResult = ParsedEvent | Rejected
Parser = Callable[[Iterable[RawRecord], ParseContext], Iterator[ParseResult]]


class RecordError(ValueError):
    """A record this parser cannot read; the message is the quarantine reason."""


def per_record(
    parse_one: Callable[[RawRecord, ParseContext], ParsedEvent | list[ParsedEvent] | None],
) -> Parser:
    """A parser from a function of one record. ``None`` means "nothing to store" (a blank
    line, a comment); ``RecordError`` quarantines the record with its message."""

    def parse(records: Iterable[RawRecord], context: ParseContext) -> Iterator[ParseResult]:
        for record in records:
            if isinstance(record.data, str) and not record.data.strip():
                continue  # blank lines carry nothing
            try:
                result = parse_one(record, context)
            except RecordError as exc:
                yield Rejected(record.number, raw_of(record), str(exc))
                continue
            if result is None:
                continue
            for event in result if isinstance(result, list) else [result]:
                event.number = record.number
                tidy(event.fields)
                yield event

    return parse


def raw_of(record: RawRecord) -> str:
    if isinstance(record.data, str):
        return record.data
    import json

    return json.dumps(record.data, default=str)


# ---- building documents ---------------------------------------------------------------


_PATHS: dict[str, tuple[tuple[str, ...], str]] = {}


def _split(path: str) -> tuple[tuple[str, ...], str]:
    """``"a.b.c"`` -> ``(("a", "b"), "c")``, remembered: the same few hundred paths are
    written millions of times."""
    split = _PATHS.get(path)
    if split is None:
        *parents, leaf = path.split(".")
        split = _PATHS[path] = (tuple(parents), leaf)
    return split


def put(doc: dict[str, Any], path: str, value: Any) -> None:
    """``put(d, "source.ip", v)`` sets ``d["source"]["ip"]``; empty values are skipped."""
    if value is None or value == "" or value == []:
        return
    parents, leaf = _split(path)
    node = doc
    for key in parents:
        child = node.get(key)
        if type(child) is not dict:
            child = node[key] = {}
        node = child
    node[leaf] = value


def get(doc: dict[str, Any], path: str, default: Any = None) -> Any:
    node: Any = doc
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def add_related(doc: dict[str, Any], kind: str, *values: Any) -> None:
    """ECS ``related.ip`` / ``related.user`` / ``related.hosts``: every value once."""
    found = doc.setdefault("related", {}).setdefault(kind, [])
    for value in values:
        if value not in (None, "", "-") and value not in found:
            found.append(value)


def tidy(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop empty ``related.*`` lists (and ``related`` itself when nothing is left)."""
    related = doc.get("related")
    if isinstance(related, dict):
        for key in [k for k, v in related.items() if not v]:
            del related[key]
        if not related:
            del doc["related"]
    return doc


def keep_originals(doc: dict[str, Any], originals: dict[str, Any], namespace: str) -> None:
    """Put the source's own fields next to the ECS ones; a name that would overwrite an ECS
    field set goes under ``namespace`` instead (``suricata.dns`` next to ECS ``dns``)."""
    for key, value in originals.items():
        if key in ECS_ROOTS or key in doc:
            doc.setdefault(namespace, {})
            if isinstance(doc[namespace], dict):
                doc[namespace][key] = value
        else:
            doc[key] = value


# A dotted quad without leading zeros is already in canonical form: no need to ask ipaddress.
_IPV4 = re.compile(
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
)


def ip_or_none(value: Any) -> str | None:
    """A normalized IP address, or None for anything that is not one ("-", hostnames)."""
    if not isinstance(value, str) or not value:
        return None
    if _IPV4.fullmatch(value):
        return value
    text = value.strip().strip("[]")
    if "%" in text:  # IPv6 zone id
        text = text.split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def port_or_none(value: Any) -> int | None:
    try:
        port = int(value)
    except (TypeError, ValueError):
        return None
    return port if 0 <= port <= 65535 else None


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


TRANSPORTS = {
    "6": "tcp",
    "17": "udp",
    "1": "icmp",
    "58": "ipv6-icmp",
    "132": "sctp",
    "47": "gre",
    "50": "esp",
}


def transport_name(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    return TRANSPORTS.get(text, text)
