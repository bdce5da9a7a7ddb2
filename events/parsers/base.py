"""What every parser shares: its input and output types and ECS helpers.

A parser is a pure function of its input: ``parse(records, context)`` yields one
``ParsedEvent`` per event it understood and one ``Rejected`` per record it could not,
with the reason. It never touches the database; the ingest service stores what it yields.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import orjson

logger = logging.getLogger(__name__)

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
    # A time the record claimed but that no datetime can hold (an epoch of 1e20, year
    # 10000 once in UTC): the event keeps the time it was received, tagged, with this kept.
    claimed_time: str | None = None


@dataclass
class Rejected:
    number: int
    raw: str | bytes
    reason: str


ParseResult = ParsedEvent | Rejected
Parser = Callable[[Iterable[RawRecord], ParseContext], Iterator[ParseResult]]


class RecordError(ValueError):
    """A record this parser cannot read; the message is the quarantine reason."""


# ---- one record's failure stays that record's ------------------------------------------

# What an exception no parser expected says about the record, in words.
_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (RecursionError, "nested too deeply"),
    (MemoryError, "too large to process"),
    (UnicodeError, "text that is not valid Unicode"),
    (OverflowError, "a number or date out of range"),
    (ValueError, "a value out of range or of the wrong form"),
    (TypeError, "a value of an unexpected type"),
    (LookupError, "a missing or unexpected field"),
)
_REPORTED: set[tuple[str, str]] = set()
# Failures the safety net caught in this process, by "<where>: <exception type>": each is
# a gap in a parser (bench/fuzz_parsers.py treats any as a finding).
unexpected_failures: Counter[str] = Counter()
# Characters that would let a reason rewrite a terminal line or reorder text when shown.
_UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2028\u2029\u2066-\u2069\ud800-\udfff]"
)
MAX_REASON = 500


def clean_reason(text: str) -> str:
    """A quarantine reason fit to store and show: one line, no control or bidi characters
    (shown as ``\\xNN``), no lone surrogates, at most MAX_REASON characters."""
    if not text.isprintable() or len(text) > MAX_REASON:
        text = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text[: MAX_REASON * 2])
    return text[:MAX_REASON]


def failure_reason(exc: BaseException, where: str) -> str:
    """The quarantine reason for ``exc`` raised while handling one record in ``where`` (a
    parser, ``normalize``): the kind of problem, never a traceback. ``RecordError`` is a
    parser's own words. Anything else is a bug or a gap in a parser: the first of each kind
    is logged with its traceback for whoever fixes it (once per process, not per record, so
    a sender cannot flood the log)."""
    if isinstance(exc, RecordError):
        return clean_reason(str(exc))
    kind = next((words for cls, words in _KINDS if isinstance(exc, cls)), "an unexpected error")
    key = (where, type(exc).__name__)
    unexpected_failures[f"{where}: {key[1]}"] += 1
    if key not in _REPORTED and len(_REPORTED) < 1000:
        _REPORTED.add(key)
        logger.warning("%s failed on a record (quarantined)", where, exc_info=exc)
    detail = str(exc)[:200]
    return clean_reason(f"{where}: {kind} ({type(exc).__name__}{': ' + detail if detail else ''})")


def per_record(
    parse_one: Callable[[RawRecord, ParseContext], ParsedEvent | list[ParsedEvent] | None],
    name: str = "parser",
) -> Parser:
    """A parser from a function of one record. ``None`` means "nothing to store" (a blank
    line, a comment); ``RecordError`` quarantines the record with its message, and so does
    any other exception (with its kind as the reason): one record never costs the rest."""

    def parse(records: Iterable[RawRecord], context: ParseContext) -> Iterator[ParseResult]:
        for record in records:
            if isinstance(record.data, str) and not record.data.strip():
                continue  # blank lines carry nothing
            try:
                result = parse_one(record, context)
                if result is None:
                    continue
                events = result if isinstance(result, list) else [result]
                for event in events:
                    event.number = record.number
                    tidy(event.fields)
            except Exception as exc:  # isolate the record, whatever broke
                yield Rejected(record.number, raw_of(record), failure_reason(exc, name))
                continue
            yield from events

    return parse


def isolated(parse: Parser, name: str) -> Parser:
    """The last line of defence around a whole parser: should its loop itself fail (the
    per-record guards inside every parser make that a bug), the records after the last
    one it answered for are parsed again one at a time, so the failure costs one record.
    (A continuation line of a multi-line syslog message may then stand alone.)"""

    def guarded(records: Iterable[RawRecord], context: ParseContext) -> Iterator[ParseResult]:
        batch = records if isinstance(records, Sequence) else list(records)
        highest = -1
        try:
            for result in parse(batch, context):
                if result.number > highest:
                    highest = result.number
                yield result
            return
        except Exception as exc:
            failure_reason(exc, f"{name} parser loop")  # logged once
        for record in batch:
            if record.number <= highest:
                continue
            try:
                yield from list(parse([record], context))
            except Exception as exc:
                yield Rejected(record.number, raw_of(record), failure_reason(exc, name))

    return guarded


def raw_of(record: RawRecord) -> str | bytes:
    """The record as it arrived, for the quarantine: its bytes when they were kept."""
    if record.original is not None:
        return record.original
    if isinstance(record.data, str):
        return record.data
    return json_raw(record.data)


def json_raw(value: Any) -> str:
    """A decoded JSON value written back as JSON text (an event's ``raw``, a quarantine
    row), whatever it holds: Python's decoder (HEC, concatenated documents) lets lone
    surrogates and integers past 64 bits through, which orjson refuses to write."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        pass
    try:
        return json.dumps(value, default=str)
    except (ValueError, RecursionError):
        return "(a JSON value that cannot be written back: nested too deeply)"


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
    # (Ten calls per event on the ingest path: a true value is tested once, the split
    # path is looked up inline.)
    if not value and (value is None or value == "" or value == []):
        return
    split = _PATHS.get(path)
    parents, leaf = split if split is not None else _split(path)
    node = doc
    for key in parents:
        child = node.get(key)
        if type(child) is not dict:
            child = node[key] = {}
        node = child
    node[leaf] = value


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
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        return None
    return port if 0 <= port <= 65535 else None


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
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
