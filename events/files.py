"""Ingesting files: log files, ``.gz``, ``.zip`` (every member), NDJSON/JSON, ``.evtx``.

Files are read in chunks; each chunk is one ingest batch whose idempotency key is the
file's SHA-256 and the chunk's position, so ingesting the same file again (by command or
upload) stores nothing new, while the same lines in a different file are new events.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .ingest import events_ingest
from .models import Source
from .parsers.base import RawRecord, Rejected
from .readers import JSON_FORMATS, is_json_document, read_json_document, read_lines

CHUNK_RECORDS = 5000
ZEEK_HEADERS = (
    "#separator",
    "#set_separator",
    "#empty_field",
    "#unset_field",
    "#path",
    "#fields",
    "#types",
)


@dataclass
class Chunk:
    records: list[RawRecord]
    rejected: list[Rejected]
    key: str
    size: int


@dataclass
class FileReport:
    files: int = 0
    batches: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    already_ingested: int = 0  # records of chunks whose key was seen before
    bytes: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: Any, size: int) -> None:
        self.batches += 1
        self.bytes += size
        if result.replayed:
            self.already_ingested += result.accepted + result.duplicates
            return
        self.accepted += result.accepted
        self.duplicates += result.duplicates
        self.quarantined += result.quarantined
        self.errors += result.errors[: max(0, 50 - len(self.errors))]


@dataclass(frozen=True)
class InputFile:
    name: str
    data: bytes


def expand(name: str, data: bytes) -> Iterator[InputFile]:
    """Unpack .gz and .zip (recursively); everything else is one file."""
    lower = name.lower()
    if lower.endswith(".gz") or data[:2] == b"\x1f\x8b":
        yield from expand(name.removesuffix(".gz"), gzip.decompress(data))
    elif lower.endswith(".zip") or data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                if not member.is_dir():
                    yield from expand(f"{name}/{member.filename}", archive.read(member))
    else:
        yield InputFile(name, data)


class UnreadableFile(ValueError):
    """A file that cannot be read at all (random bytes named .evtx, a broken archive): the
    upload or command fails with this message; what was stored before it stays stored."""

    def __init__(self, message: str, report: FileReport | None = None) -> None:
        super().__init__(message)
        self.report = report


MAX_EVTX_ERRORS_IN_A_ROW = 100


def _evtx_records(data: bytes) -> Iterator[RawRecord | Rejected]:
    """The records of an EVTX file; a damaged chunk or record is quarantined with the
    parser's words and reading goes on with the next one. A file whose header cannot be
    read is ``UnreadableFile``."""
    import orjson
    from evtx import PyEvtxParser

    try:
        records = PyEvtxParser(io.BytesIO(data)).records_json()
    except (OSError, RuntimeError, ValueError) as exc:
        raise UnreadableFile(f"not a readable EVTX file: {str(exc)[:300]}") from exc
    number, failures = 0, 0
    while failures < MAX_EVTX_ERRORS_IN_A_ROW:
        number += 1
        try:
            record = next(records)
        except StopIteration:
            return
        except (OSError, RuntimeError, ValueError) as exc:  # a damaged chunk or record
            failures += 1
            yield Rejected(number, b"", f"unreadable EVTX record: {str(exc)[:300]}")
            continue
        failures = 0
        try:
            yield RawRecord(number, orjson.loads(record["data"]))
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            yield Rejected(number, str(record)[:4096].encode(), f"unreadable EVTX record: {exc}")
    yield Rejected(number + 1, b"", f"EVTX file unreadable after {number} records: stopped")


def _chunks_of(
    items: Iterable[RawRecord | Rejected],
    key_base: str,
    size: int,
    headers: Callable[[], list[RawRecord]] | None = None,
) -> Iterator[Chunk]:
    records: list[RawRecord] = []
    rejected: list[Rejected] = []
    index = 0
    for item in items:
        (rejected if isinstance(item, Rejected) else records).append(item)  # type: ignore[arg-type]
        if len(records) + len(rejected) >= CHUNK_RECORDS:
            yield Chunk(records, rejected, f"{key_base}:{index}", size if index == 0 else 0)
            index += 1
            records = headers() if headers else []
            rejected = []
    if records or rejected or index == 0:
        yield Chunk(records, rejected, f"{key_base}:{index}", size if index == 0 else 0)


def chunks(name: str, data: bytes, log_format: str) -> Iterator[Chunk]:
    key_base = "file:" + hashlib.sha256(data).hexdigest()
    if name.lower().endswith(".evtx") or data[:8] == b"ElfFile\x00":
        yield from _chunks_of(_evtx_records(data), key_base, len(data))
        return
    if log_format in JSON_FORMATS | {"zeek"} and is_json_document(data):
        decoded = read_json_document(data)
        yield from _chunks_of([*decoded.records, *decoded.rejected], key_base, len(data))
        return
    lines = data.splitlines()
    decoded = read_lines(lines, log_format)
    items = sorted([*decoded.records, *decoded.rejected], key=lambda r: r.number)
    seen_headers: list[RawRecord] = []

    def headers() -> list[RawRecord]:
        return list(seen_headers)

    def remember(stream: Iterable[RawRecord | Rejected]) -> Iterator[RawRecord | Rejected]:
        for item in stream:
            if (
                log_format == "zeek"
                and isinstance(item, RawRecord)
                and isinstance(item.data, str)
                and item.data.startswith(ZEEK_HEADERS)
            ):
                seen_headers[:] = [
                    h for h in seen_headers if not h.data.startswith(item.data.split(maxsplit=1)[0])
                ]  # type: ignore[union-attr]
                seen_headers.append(item)
            yield item

    yield from _chunks_of(remember(items), key_base, len(data), headers)


def _unpacked(name: str, data: bytes) -> Iterator[InputFile]:
    """``expand``, with an archive that cannot be unpacked (a truncated .gz, a damaged or
    encrypted .zip) as ``UnreadableFile`` instead of whatever the library raised."""
    items = expand(name, data)
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except (
            EOFError,  # gzip: truncated
            OSError,  # gzip: not gzip after all
            zlib.error,
            zipfile.BadZipFile,
            NotImplementedError,  # zipfile: a compression method it does not know
            RuntimeError,  # zipfile: an encrypted member
        ) as exc:
            what = "is truncated" if isinstance(exc, EOFError) else "cannot be unpacked"
            raise UnreadableFile(f"{name} {what}: {str(exc)[:300]}") from exc
        yield item


def file_ingest(
    *,
    source: Source,
    name: str,
    data: bytes,
    log_format: str | None = None,
    transport: str = "file",
    progress: Callable[[int], None] | None = None,
    report: FileReport | None = None,
) -> FileReport:
    """Ingest one file (and whatever it contains); ``progress`` gets records done.

    ``UnreadableFile`` when the file (or an archive member) cannot be read at all; it
    carries the report of what was stored before (earlier members, earlier chunks)."""
    report = report or FileReport()
    try:
        _ingest_items(source, name, data, log_format or source.format, transport, progress, report)
    except UnreadableFile as exc:
        exc.report = report
        raise
    return report


def _ingest_items(
    source: Source,
    name: str,
    data: bytes,
    fmt: str,
    transport: str,
    progress: Callable[[int], None] | None,
    report: FileReport,
) -> None:
    for item in _unpacked(name, data):
        report.files += 1
        for chunk in chunks(item.name, item.data, fmt):
            result = events_ingest(
                source=source,
                records=chunk.records,
                rejected=chunk.rejected,
                transport=transport,
                log_format=fmt,
                idempotency_key=chunk.key,
                digest=hashlib.sha256(chunk.key.encode()).hexdigest(),
                size=chunk.size,
            )
            report.add(result, chunk.size)
            if progress:
                progress(len(chunk.records) + len(chunk.rejected))


def read_path(path: Path) -> bytes:
    return path.read_bytes()


def read_upload(upload: IO[bytes]) -> bytes:
    return upload.read()
