"""Ingesting files: log files, ``.gz``, ``.zip`` (every member), NDJSON/JSON, ``.evtx``.

A file is read twice, as a stream both times, never whole in memory:

1. the survey inflates every member (``events.inflate``: bounded bytes, ratio, nesting and
   member count) and hashes it. Over a limit, the file is refused before anything of it
   is stored. A member that breaks off (truncated, corrupt) is noted with the point where
   it does.
2. the ingest reads each member again, a block at a time, and stores it in chunks of
   CHUNK_RECORDS records; each chunk is one ingest batch whose idempotency key is the
   member's SHA-256 and the chunk's position, so ingesting the same file again (by
   command or upload) stores nothing new, while the same lines in a different file are
   new events. Of a broken member, what was readable is stored; its last line, cut
   short, is quarantined with the reason, and the report lists the problem.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from .inflate import (
    BLOCK,
    Budget,
    Damaged,
    Limited,
    Limits,
    Member,
    Prefixed,
    Stream,
    read_head,
    spool,
    walk,
)
from .ingest import events_ingest
from .models import Source
from .parsers.base import RawRecord, Rejected
from .readers import (
    MAX_RECORD_BYTES,
    SAMPLE_BYTES,
    is_document,
    json_document_records,
    line_records,
)

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
EVTX_MAGIC = b"ElfFile\x00"

Opener = Callable[[], contextlib.AbstractContextManager[IO[bytes]]]


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
    problems: list[str] = field(default_factory=list)  # members that could not be read whole

    def mostly_refused(self, limit: int) -> bool:
        """Whether reading on is not worth it: ``limit`` records refused, and more refused
        than stored (see FILE_MAX_REFUSED_RECORDS)."""
        stored = self.accepted + self.duplicates + self.already_ingested
        return self.quarantined >= limit and self.quarantined > stored

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
class MemberSurvey:
    name: str
    digest: str  # SHA-256 of what is readable
    size: int  # bytes readable
    problem: str | None  # why it stops there, or why it cannot be read at all


# ---- reading -------------------------------------------------------------------------


def survey(name: str, opener: Opener, limits: Limits) -> list[MemberSurvey]:
    """Every member of the input, inflated once and hashed; ``TooLarge`` over a limit."""
    found: list[MemberSurvey] = []
    with opener() as source:
        for member in walk(name, source, Budget(limits), seekable=_seekable(source)):
            if member.stream is None:
                found.append(MemberSurvey(member.name, "", 0, member.problem))
                continue
            digest, size, problem = hashlib.sha256(), 0, None
            try:
                while data := member.stream.read(BLOCK):
                    digest.update(data)
                    size += len(data)
            except Damaged as exc:
                problem = str(exc)
            found.append(MemberSurvey(member.name, digest.hexdigest(), size, problem))
    return found


def _seekable(source: IO[bytes]) -> IO[bytes] | None:
    try:
        return source if source.seekable() else None
    except (AttributeError, ValueError):
        return None


class GaveUp(Exception):
    """Too many records of a file were refused: the rest of it is not read."""


class UnreadableFile(ValueError):
    """A file that cannot be read at all (random bytes named .evtx): listed as a problem
    of the upload or command with this message; the rest of the input is still read."""


MAX_EVTX_ERRORS_IN_A_ROW = 100


def _evtx_records(file: IO[bytes]) -> Iterator[RawRecord | Rejected]:
    """The records of an EVTX file; a damaged chunk or record is quarantined with the
    reader's words and reading goes on with the next one (up to MAX_EVTX_ERRORS_IN_A_ROW
    in a row). A file whose header cannot be read is ``UnreadableFile``."""
    import orjson
    from evtx import PyEvtxParser

    try:
        records = iter(PyEvtxParser(file).records_json())
    except (OSError, RuntimeError, ValueError) as exc:
        raise UnreadableFile(f"not a readable EVTX file: {str(exc)[:300]}") from exc
    number, failures = 0, 0
    # A record is a dict, an exception the reader handed back, or (its stubs say) None:
    # anything but a dict with "data" is rejected below.
    record: Any
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
        if isinstance(record, Exception):  # a record the reader could not decode
            yield Rejected(number, b"", f"unreadable EVTX record: {str(record)[:300]}")
            continue
        try:
            yield RawRecord(number, orjson.loads(record["data"]))
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            sample = str(record)[:SAMPLE_BYTES].encode()
            yield Rejected(number, sample, f"unreadable EVTX record: {exc}")
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
        if isinstance(item, Rejected):
            rejected.append(item)
        else:
            records.append(item)
        if len(records) + len(rejected) >= CHUNK_RECORDS:
            yield Chunk(records, rejected, f"{key_base}:{index}", size if index == 0 else 0)
            index += 1
            records = headers() if headers else []
            rejected = []
    if records or rejected or index == 0:
        yield Chunk(records, rejected, f"{key_base}:{index}", size if index == 0 else 0)


def _zeek_headers(
    items: Iterable[RawRecord | Rejected], seen: list[RawRecord]
) -> Iterator[RawRecord | Rejected]:
    """Remember Zeek's ``#fields``-style headers as they pass: every chunk after the
    first starts with them again, so each batch can be parsed on its own."""
    for item in items:
        if (
            isinstance(item, RawRecord)
            and isinstance(item.data, str)
            and item.data.startswith(ZEEK_HEADERS)
        ):
            kind = item.data.split(maxsplit=1)[0]
            seen[:] = [h for h in seen if not (isinstance(h.data, str) and h.data.startswith(kind))]
            seen.append(item)
        yield item


def member_chunks(member: Member, info: MemberSurvey, log_format: str) -> Iterator[Chunk]:
    """The chunks of one member, read as a stream up to what the survey found readable."""
    key_base = f"file:{info.digest}"
    assert member.stream is not None  # a member with a problem is reported, never read
    stream: Stream = Limited(member.stream, info.size)
    head = read_head(stream, MAX_RECORD_BYTES + 1)
    stream = Prefixed(head, stream)
    if info.name.lower().endswith(".evtx") or head[:8] == EVTX_MAGIC:
        file = member.seekable if member.seekable is not None else spool(stream)
        file.seek(0)
        try:
            yield from _chunks_of(_evtx_records(file), key_base, info.size)
        finally:
            if file is not member.seekable:
                file.close()
        return
    if is_document(head, log_format):
        yield from _chunks_of(json_document_records(stream), key_base, info.size)
        return
    items = line_records(stream, log_format, broken=info.problem)
    if log_format != "zeek":
        yield from _chunks_of(items, key_base, info.size)
        return
    seen: list[RawRecord] = []
    yield from _chunks_of(_zeek_headers(items, seen), key_base, info.size, lambda: list(seen))


def chunks(name: str, data: bytes, log_format: str) -> Iterator[Chunk]:
    """The chunks of one plain file given as bytes (tests and tools)."""
    info = MemberSurvey(name, hashlib.sha256(data).hexdigest(), len(data), None)
    yield from member_chunks(
        Member(name, io.BytesIO(data), seekable=io.BytesIO(data)), info, log_format
    )


# ---- the service ---------------------------------------------------------------------


def opener_for(
    *, data: bytes | None = None, path: Path | None = None, upload: IO[bytes] | None = None
) -> Opener:
    """How to open the input again for each pass: bytes, a path, or an uploaded file."""
    if path is not None:
        return lambda: path.open("rb")
    if upload is not None:

        @contextlib.contextmanager
        def rewound() -> Iterator[IO[bytes]]:
            upload.seek(0)
            yield upload  # Django closes the uploaded file itself

        return rewound
    content = data or b""
    return lambda: contextlib.nullcontext(io.BytesIO(content))


def file_ingest(
    *,
    source: Source,
    name: str,
    data: bytes | None = None,
    path: Path | None = None,
    upload: IO[bytes] | None = None,
    log_format: str | None = None,
    transport: str = "file",
    progress: Callable[[int], None] | None = None,
    report: FileReport | None = None,
    limits: Limits | None = None,
) -> FileReport:
    """Ingest one file (and whatever it contains), given as ``data``, a ``path`` or an
    ``upload``; ``progress`` gets records done.

    Raises ``TooLarge`` (nothing stored) when the input is over a limit of ``limits``
    (default: the file settings). Members that cannot be read whole are listed in
    ``report.problems``; what was readable of them is stored.
    """
    report = report or FileReport()
    fmt = log_format or source.format
    limits = limits or Limits.for_files()
    opener = opener_for(data=data, path=path, upload=upload)
    surveyed = survey(name, opener, limits)
    with opener() as input_file:
        members = walk(name, input_file, Budget(limits), seekable=_seekable(input_file))
        for member, info in zip(members, surveyed, strict=True):
            if info.problem:
                report.problems.append(info.problem)
            if member.stream is None:
                continue
            report.files += 1
            try:
                _ingest_member(source, member, info, fmt, transport, progress, report)
            except UnreadableFile as exc:
                report.problems.append(f"{info.name}: {exc}")
            except GaveUp as exc:
                report.problems.append(f"{info.name}: {exc}")
                break
    return report


def _ingest_member(
    source: Source,
    member: Member,
    info: MemberSurvey,
    fmt: str,
    transport: str,
    progress: Callable[[int], None] | None,
    report: FileReport,
) -> None:
    for chunk in member_chunks(member, info, fmt):
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
        limit = settings.FILE_MAX_REFUSED_RECORDS
        if report.mostly_refused(limit):
            numbers = [r.number for r in chunk.records] + [r.number for r in chunk.rejected]
            last = max(numbers, default=0)
            raise GaveUp(
                f"reading stopped after line {last:,}: {report.quarantined:,} records were "
                f"refused, more than were stored (FILE_MAX_REFUSED_RECORDS={limit:,}); is "
                f"{fmt!r} the right format? Nothing after that line, nor later files, was read."
            )
