"""Turning what transports receive (request bodies, files, quarantined bytes) into the
records parsers read. Every refusal here is a quarantine reason, never an exception.

- Text formats (syslog, cef, leef, access) read lines.
- JSON formats (json, suricata, cloudtrail, windows exports) read NDJSON lines, a JSON
  array, or one object; CloudTrail's ``{"Records": [...]}`` files are opened up.
- Zeek and Snort read JSON lines and text lines alike (Zeek TSV with its ``#fields``
  headers; Snort ``alert_json`` objects and ``alert_fast``/syslog lines).

Input is read as a stream (``read(n)``), a block at a time: records come out one by one
as they are found, so a large body or file is never held as a list of lines or values.
Blank lines are skipped by the regular-expression engine, not one by one in Python.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from .inflate import BLOCK, Stream, TooLarge, read_head
from .parsers.base import RawRecord, Rejected, json_raw

TEXT_FORMATS = frozenset({"syslog", "cef", "leef", "access"})
JSON_FORMATS = frozenset({"json", "suricata", "cloudtrail", "windows"})
# Formats whose lines are JSON objects or text: a line starting with "{" is decoded.
JSON_OR_TEXT_FORMATS = frozenset({"zeek", "snort"})
MAX_RECORD_BYTES = 1024 * 1024
MAX_DEPTH = 64
SAMPLE_BYTES = 4096  # what the quarantine keeps of a record it refuses for its size
# Lines are split a block at a time; a block of newlines becomes a list of one pointer per
# byte, so this block stays small (2 MiB of list at worst).
LINE_BLOCK = 256 * 1024

Item = RawRecord | Rejected
_CONTENT = re.compile(rb"\S[^\n]*")  # from a line's first non-space to its end
_SPACE = re.compile(r"[ \t\n\r]*")
_RECORDS_WRAPPER = re.compile(r'\{\s*"Records"\s*:\s*\[')
_DECODER = json.JSONDecoder()


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


def json_text(value: Any, limit: int = SAMPLE_BYTES) -> bytes:
    """``value`` as JSON bytes for a quarantine row, whatever it holds (``json_raw``)."""
    return json_raw(value)[:limit].encode("utf-8", errors="replace")


def json_problem(exc: Exception) -> str:
    """What Python's JSON decoder refused, in words (its RecursionError says nothing)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)[:200]


def _sample(item: Any, original: bytes) -> bytes:
    try:
        return orjson.dumps(item)[:SAMPLE_BYTES]
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer orjson cannot write
        return original[:SAMPLE_BYTES]


def shallow_text(text: bytes) -> bool:
    """Whether the JSON ``text`` cannot nest deeper than MAX_DEPTH: a value is nested in at
    most as many containers as its text opens brackets (two scans in C, where
    ``too_deep`` visits every value: a quarter of the parse time of a Windows event)."""
    return text.count(b"{") + text.count(b"[") < MAX_DEPTH


def _json_records(
    number: int, value: Any, original: bytes, *, whole: bool = False
) -> Iterator[Item]:
    """``whole``: ``original`` is all of ``value``'s text (not a sample of it)."""
    if isinstance(value, dict) and isinstance(value.get("Records"), list):
        value = value["Records"]  # a CloudTrail log file
    items = value if isinstance(value, list) else [value]
    shallow = whole and shallow_text(original)
    for offset, item in enumerate(items):
        at = number + offset
        if not isinstance(item, dict):
            yield Rejected(at, _sample(item, original), "expected a JSON object")
        elif not shallow and too_deep(item):
            yield Rejected(
                at, original[:SAMPLE_BYTES], f"JSON nested deeper than {MAX_DEPTH} levels"
            )
        else:
            yield RawRecord(at, item)


def _count_of(value: Any) -> int:
    if isinstance(value, dict) and isinstance(value.get("Records"), list):
        value = value["Records"]
    return len(value) if isinstance(value, list) else 1


# ---- lines -----------------------------------------------------------------------------


def _blocks_of_lines(stream: Stream) -> Iterator[tuple[Iterable[tuple[int, bytes]], bool]]:
    """The lines of ``stream`` a block at a time, without their newlines, numbered:
    ``((number, line), ...), the last one has no newline``. Blank lines may be left out.
    A line that grows past MAX_RECORD_BYTES without a newline comes out as its first
    part (which the reader refuses by its length) and the rest of it is skipped unread."""
    number = 1
    carry = b""  # the line that goes on in the next block
    skipping = False  # inside an over-long line, until its newline
    while block := stream.read(LINE_BLOCK):
        if skipping:
            newline = block.find(b"\n")
            if newline < 0:
                continue
            block, number, skipping = block[newline + 1 :], number + 1, False
        data = carry + block if carry else block
        newlines = data.count(b"\n")
        if newlines * 8 > len(data):  # mostly blank or tiny lines: let the regex find text
            cut = data.rfind(b"\n") + 1
            yield _lines_with_text(data, cut, number), False
            carry = data[cut:]
        else:
            lines = data.split(b"\n")
            carry = lines.pop()
            yield enumerate(lines, number), False
        number += newlines
        if len(carry) > MAX_RECORD_BYTES:
            yield [(number, carry)], False
            carry, skipping = b"", True
    if carry:
        yield [(number, carry)], True


def _lines_with_text(data: bytes, end: int, number: int) -> Iterator[tuple[int, bytes]]:
    """The lines of ``data[:end]`` that are not blank; blank runs are skipped in C."""
    position = 0  # the start of the line ``number``
    for match in _CONTENT.finditer(data, 0, end):
        start = data.rfind(b"\n", position, match.start()) + 1 or position
        number += data.count(b"\n", position, start)
        position = start
        yield number, data[start : match.end()]


def count_lines(stream: Stream, at_most: int) -> int:
    """Lines that are not blank, counted up to past ``at_most`` (then it stops reading)."""
    count = 0
    for lines, _ in _blocks_of_lines(stream):
        count += sum(1 for _, line in lines if line and not line.isspace())
        if count > at_most:
            break
    return count


def _records_of(
    blocks: Iterable[tuple[Iterable[tuple[int, bytes]], bool]], log_format: str, broken: str | None
) -> Iterator[Item]:
    """One record per line that is not blank (NDJSON for JSON formats). ``broken``: why
    the input stops early; its last line, cut short, is refused with that reason.
    (The hot path of every line-based transport: one generator, locals only.)"""
    json_wanted = log_format in JSON_FORMATS
    json_or_text = log_format in JSON_OR_TEXT_FORMATS
    limit = MAX_RECORD_BYTES
    for lines, cut_short in blocks:
        for number, line in lines:
            if not line or line.isspace():
                continue
            if line[-1] in (10, 13):  # CR of CRLF (and LF, in lines given as a list)
                line = line.rstrip(b"\r\n")
            if len(line) > limit:
                reason = f"record longer than {limit} bytes"
                yield Rejected(number, line[:SAMPLE_BYTES], reason)
            elif cut_short and broken:
                reason = f"the input breaks off in this line: {broken}"
                yield Rejected(number, line[:SAMPLE_BYTES], reason)
            elif json_wanted or (json_or_text and line.lstrip()[:1] == b"{"):
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    yield Rejected(number, line, f"not JSON: {exc}")
                    continue
                yield from _json_records(number, value, line, whole=True)
            else:
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError:  # the quarantine would keep the bytes as sent
                    yield RawRecord(number, line.decode("utf-8", errors="replace"), line)
                else:
                    yield RawRecord(number, text)


def line_records(stream: Stream, log_format: str, *, broken: str | None = None) -> Iterator[Item]:
    """One record per line of ``stream``. ``broken``: why the stream stops early; its last
    line, cut short, is then refused with that reason rather than read as a record."""
    return _records_of(_blocks_of_lines(stream), log_format, broken)


def read_lines(lines: Iterable[bytes], log_format: str, first_number: int = 1) -> Decoded:
    """One record per line of a list (quarantined records, the benchmark)."""
    decoded = Decoded()
    for item in _records_of([(enumerate(lines, first_number), False)], log_format, None):
        _add(decoded, item)
    return decoded


# ---- JSON documents --------------------------------------------------------------------


class JsonText:
    """The decoded text of a byte stream, read on demand, scanned one JSON value at a
    time: memory holds the value being read and a block, never the whole document."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.pos = 0
        self.ended = False
        self.last_raw = b""  # the start of the last value read, as the quarantine keeps it
        self.number = 1  # of the next record

    def more(self) -> None:
        block = self._stream.read(BLOCK)
        if not block:
            self.ended = True
        self.text = self.text[self.pos :] + self._decoder.decode(block, final=not block)
        self.pos = 0

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            # \s* matches everywhere (perhaps nothing): there is always a match.
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text) or self.ended:
                return self.text[self.pos : self.pos + 1]
            self.more()

    def expect(self, characters: str) -> str:
        found = self.peek()
        if not found:
            raise ValueError("the JSON ends early (truncated?)")
        if found not in characters:
            wanted = " or ".join(map(repr, characters))
            raise ValueError(f"expected {wanted} at character {self.pos}")
        self.pos += 1
        return found

    def starts_with(self, pattern: re.Pattern[str]) -> bool:
        self.peek()
        while len(self.text) - self.pos < 64 and not self.ended:
            self.more()
        match = pattern.match(self.text, self.pos)
        if match:
            self.pos = match.end()
        return match is not None

    def value(self) -> Any:
        """The JSON value at the cursor; ValueError when it is not JSON or longer than
        MAX_RECORD_BYTES (what follows cannot be found then)."""
        if not self.peek():
            raise ValueError("the JSON ends early (truncated?)")
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except (ValueError, RecursionError) as exc:  # ValueError: 4,300+ digit numbers too
                if self.ended or len(self.text) - self.pos > MAX_RECORD_BYTES:
                    raise ValueError(json_problem(exc)) from None
                self.more()  # perhaps only cut off by the end of the block
                continue
            if end == len(self.text) and not self.ended and self.text[end - 1] not in '}]"':
                self.more()  # a number or a literal may go on in the next block
                continue
            if end - self.pos > MAX_RECORD_BYTES:
                raise ValueError(f"a JSON value longer than {MAX_RECORD_BYTES} bytes")
            self.last_raw = self.text[self.pos : min(end, self.pos + SAMPLE_BYTES)].encode(
                "utf-8", errors="replace"
            )
            self.pos = end
            return value

    def skip_line(self) -> bytes:
        """Skip to the start of the next line (a value that did not read): its first
        SAMPLE_BYTES for the quarantine. Memory stays at a block; a line without end is
        read to the end of the stream and dropped as it goes."""
        sample = b""
        while True:
            end = self.text.find("\n", self.pos)
            stop = len(self.text) if end < 0 else end + 1
            if len(sample) < SAMPLE_BYTES:
                piece = self.text[self.pos : stop].encode("utf-8", errors="replace")
                sample += piece[: SAMPLE_BYTES - len(sample)]
            self.pos = stop
            if end >= 0 or self.ended:
                return sample
            self.more()

    def rest_sample(self) -> bytes:
        return self.text[self.pos : self.pos + SAMPLE_BYTES].encode("utf-8", errors="replace")


def json_document_records(stream: Stream) -> Iterator[Item]:
    """A JSON array of objects, one object, a CloudTrail ``{"Records": [...]}`` file, or
    several (pretty-printed) objects one after the other; arrays and the CloudTrail
    wrapper are read item by item. Where the JSON breaks, the rest is refused as one
    record with the reason (what came before is kept)."""
    text = JsonText(stream)
    try:
        while character := text.peek():
            if character == "[":
                text.pos += 1
                yield from _array_items(text)
            elif text.starts_with(_RECORDS_WRAPPER):
                yield from _array_items(text)
                _skip_to_object_end(text)
            else:
                yield from _next_records(text)
    except ValueError as exc:
        yield Rejected(text.number, text.rest_sample(), f"not JSON: {exc}")


def _next_records(text: JsonText, *, in_array: bool = False) -> Iterator[Item]:
    value = text.value()
    if in_array and isinstance(value, list):
        # An array inside the array is one item that is not an object (not flattened,
        # as a whole document read at once would refuse it too): even ``[[]]`` answers.
        yield Rejected(text.number, _sample(value, text.last_raw), "expected a JSON object")
        text.number += 1
        return
    yield from _json_records(text.number, value, text.last_raw)
    text.number += _count_of(value)


def _array_items(text: JsonText) -> Iterator[Item]:
    """The items of an array whose ``[`` was just read."""
    if text.peek() == "]":
        text.pos += 1
        return
    while True:
        yield from _next_records(text, in_array=True)
        if text.expect(",]") == "]":
            return


def _skip_to_object_end(text: JsonText) -> None:
    """After a CloudTrail wrapper's ``Records`` array: any other members, then ``}``."""
    while text.expect(",}") == ",":
        text.value()  # the key
        text.expect(":")
        text.value()


def is_json_document(data: bytes) -> bool:
    """A JSON array, or one object spread over several lines (pretty-printed), as opposed
    to NDJSON (one object per line). ``data`` may be only the head of the input."""
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


def read_json_document(data: bytes) -> Decoded:
    decoded = Decoded()
    for item in json_document_records(io.BytesIO(data)):
        _add(decoded, item)
    return decoded


# ---- bodies and files ------------------------------------------------------------------


class TooManyRecords(TooLarge):
    """More records than one request may carry."""


def at_most(items: Iterable[Item], limit: int, what: str = "The body") -> Iterator[Item]:
    """``items`` as they come, until there are more than ``limit``: then TooManyRecords
    (raised inside the batch being stored, which rolls it back)."""
    for count, item in enumerate(items, 1):
        if count > limit:
            raise too_many_records(limit, what)
        yield item


def too_many_records(limit: int, what: str = "The body") -> TooManyRecords:
    return TooManyRecords(
        f"{what} holds more than {limit:,} records (INGEST_MAX_RECORDS); send smaller batches."
    )


def stream_records(
    stream: Stream, log_format: str, content_type: str = "", *, broken: str | None = None
) -> Iterator[Item]:
    """The records of a request body or a file, by its media type or by its shape (the
    head of the stream is looked at, then read on)."""
    from .inflate import Prefixed

    head = read_head(stream, MAX_RECORD_BYTES + 1)
    stream = Prefixed(head, stream)
    if is_document(head, log_format, content_type):
        return json_document_records(stream)
    return line_records(stream, log_format, broken=broken)


def is_document(head: bytes, log_format: str, content_type: str = "") -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" and head.lstrip()[:1] not in (b"[", b"{"):
        kind = ""  # declared JSON but plainly lines: read it by its shape, lose nothing
    if kind == "application/json" and log_format in JSON_OR_TEXT_FORMATS:
        # Zeek and Snort lines may be JSON objects and text in turn: NDJSON declared as
        # JSON is read a line at a time, so that a text line after an object is a record
        # of its own, not the rest of a broken JSON document.
        return is_json_document(head)
    return kind == "application/json" or (
        log_format in JSON_FORMATS | JSON_OR_TEXT_FORMATS
        and kind != "application/x-ndjson"
        and not kind.startswith("text/")
        and is_json_document(head)
    )


def read_body(data: bytes, log_format: str, content_type: str = "") -> Decoded:
    """A whole body at once (tests and tools; the transports stream)."""
    decoded = Decoded()
    for item in stream_records(io.BytesIO(data), log_format, content_type):
        _add(decoded, item)
    return decoded


def _add(decoded: Decoded, item: Item) -> None:
    if isinstance(item, Rejected):
        decoded.rejected.append(item)
    else:
        decoded.records.append(item)
