"""Turning what transports receive (request bodies, files, quarantined bytes) into the
records parsers read. Every refusal here is a quarantine reason, never an exception.

- Text formats (syslog, cef, leef, access) read lines.
- JSON formats (json, suricata, cloudtrail, windows exports) read NDJSON lines, a JSON
  array, or one object; CloudTrail's ``{"Records": [...]}`` files are opened up.
- Zeek reads JSON lines and TSV lines (with their ``#fields`` headers) alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from .parsers.base import RawRecord, Rejected, json_raw

TEXT_FORMATS = frozenset({"syslog", "cef", "leef", "access"})
JSON_FORMATS = frozenset({"json", "suricata", "cloudtrail", "windows"})
MAX_RECORD_BYTES = 1024 * 1024
MAX_DEPTH = 64


@dataclass
class Decoded:
    records: list[RawRecord] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def decode_text(line: bytes) -> tuple[str, bytes | None]:
    """Text of a line, plus the original bytes when they were not valid UTF-8."""
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError:
        return line.decode("utf-8", errors="replace"), line


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return False


def json_text(value: Any, limit: int = 4096) -> bytes:
    """``value`` as JSON bytes for a quarantine row, whatever it holds (``json_raw``)."""
    return json_raw(value)[:limit].encode("utf-8", errors="replace")


def _json_records(number: int, value: Any, original: bytes) -> Iterator[RawRecord | Rejected]:
    if isinstance(value, dict) and isinstance(value.get("Records"), list):
        value = value["Records"]  # a CloudTrail log file
    items = value if isinstance(value, list) else [value]
    for offset, item in enumerate(items):
        at = number + offset
        if not isinstance(item, dict):
            yield Rejected(at, json_text(item), "expected a JSON object")
        elif too_deep(item):
            yield Rejected(at, original[:4096], f"JSON nested deeper than {MAX_DEPTH} levels")
        else:
            yield RawRecord(at, item)


def read_lines(lines: Iterable[bytes], log_format: str, first_number: int = 1) -> Decoded:
    """One record per line (NDJSON for JSON formats)."""
    decoded = Decoded()
    json_wanted = log_format in JSON_FORMATS
    for number, line in enumerate(lines, first_number):
        body = line.rstrip(b"\r\n")
        if not body.strip():
            continue
        if len(body) > MAX_RECORD_BYTES:
            decoded.rejected.append(
                Rejected(number, body[:4096], f"record longer than {MAX_RECORD_BYTES} bytes")
            )
            continue
        if json_wanted or (log_format == "zeek" and body.lstrip()[:1] == b"{"):
            try:
                value = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                decoded.rejected.append(Rejected(number, body, f"not JSON: {exc}"))
                continue
            for item in _json_records(number, value, body):
                _add(decoded, item)
            continue
        text, original = decode_text(body)
        decoded.records.append(RawRecord(number, text, original))
    return decoded


def read_json_document(data: bytes) -> Decoded:
    """A JSON array of objects, one object, a CloudTrail ``{"Records": [...]}`` file, or
    several pretty-printed objects one after the other."""
    decoded = Decoded()
    try:
        values = [orjson.loads(data)]
    except orjson.JSONDecodeError:
        values, problem, rest = _concatenated(data)
        if problem:
            # What follows the error cannot be told apart into records: it is kept whole
            # (the body is bounded), so reprocessing after a fix loses nothing.
            decoded.rejected.append(Rejected(len(values) + 1, rest, problem))
    number = 1
    for value in values:
        for item in _json_records(number, value, data):
            _add(decoded, item)
        number += len(value) if isinstance(value, list) else 1
    return decoded


def _concatenated(data: bytes) -> tuple[list[Any], str | None, bytes]:
    """JSON values written one after another (``{...}{...}`` or pretty-printed): the
    values, and when one cannot be read, the problem and the bytes from there on."""
    text, _ = decode_text(data)
    decoder = json.JSONDecoder()
    values: list[Any] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return values, None, b""
        try:
            value, position = decoder.raw_decode(text, position)
        except (ValueError, RecursionError) as exc:  # ValueError: a number of 4,300+ digits
            rest = data if position == 0 else text[position:].encode("utf-8", errors="replace")
            return values, f"not JSON: {json_problem(exc)}", rest
        values.append(value)


def json_problem(exc: Exception) -> str:
    """What Python's JSON decoder refused, in words (its RecursionError says nothing)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)[:200]


def _add(decoded: Decoded, item: RawRecord | Rejected) -> None:
    (decoded.rejected if isinstance(item, Rejected) else decoded.records).append(item)  # type: ignore[arg-type]


def is_json_document(data: bytes) -> bool:
    """A JSON array, or one object spread over several lines (pretty-printed), as opposed
    to NDJSON (one object per line)."""
    stripped = data.lstrip()
    if stripped[:1] == b"[":
        return True
    if stripped[:1] != b"{":
        return False
    first_line = stripped.split(b"\n", 1)[0]
    try:
        orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return True
    return b'"Records"' in first_line[:4096] and b"\n" not in stripped.strip()


def read_body(data: bytes, log_format: str, content_type: str = "") -> Decoded:
    """A request body or a file's content, by its media type or by its shape."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" and data.lstrip()[:1] not in (b"[", b"{"):
        kind = ""  # declared JSON but plainly lines: read it by its shape, lose nothing
    if kind == "application/json" or (
        log_format in JSON_FORMATS | {"zeek"}
        and kind != "application/x-ndjson"
        and not kind.startswith("text/")
        and is_json_document(data)
    ):
        return read_json_document(data)
    return read_lines(data.splitlines(), log_format)
