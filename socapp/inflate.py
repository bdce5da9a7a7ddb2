"""Reading compressed and archived input at a bounded cost.

Whatever enters socapp compressed (a gzip request body, an uploaded ``.gz`` or ``.zip``, a
file given to ``manage.py ingest``) is inflated here, as a stream, with a running count:

- the bytes inflated, every layer and member together, never pass ``Limits.max_bytes``
  (the decompressor is never asked for more than the room left, plus one byte);
- a compressed stream whose output outgrows what it has consumed by more than
  ``Limits.max_ratio`` (once past ``RATIO_GRACE`` bytes) is a bomb, refused at once;
- archives nest at most ``Limits.max_depth`` levels and hold at most
  ``Limits.max_members`` files in all; a zip's central directory is sized from its end
  record before :mod:`zipfile` parses it;
- zip members must be stored or deflated (:mod:`zipfile` inflates bzip2 and lzma members
  without an output bound) and not encrypted.

Over a limit: ``TooLarge``, the input is refused as a whole (HTTP 413). A stream that
breaks off (truncated, corrupt, a bad CRC) raises ``Damaged`` there: what came before it
was good, and the caller decides whether to keep it (files) or not (request bodies).

Streams here have one method, ``read(n)``: up to ``n`` bytes, ``b""`` only at the end.
"""

from __future__ import annotations

import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Protocol, cast

BLOCK = 1024 * 1024  # what readers ask for at a time
INPUT_BLOCK = 64 * 1024  # compressed bytes fed to the inflater at a time
RATIO_GRACE = 1024 * 1024  # small outputs may be very compressible; bombs are not small
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a nested zip or a compressed .evtx beyond this: disk
ZIP_DIRECTORY_BYTES_PER_MEMBER = 512  # room for a long name and extras, per member
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


class Stream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class InputRefused(Exception):
    """The input cannot be taken; the message says why, for the sender."""

    status = 400


class TooLarge(InputRefused):
    """Over a limit: decompressed size, compression ratio, nesting, members, records."""

    status = 413


class Damaged(InputRefused):
    """The stream breaks off here (truncated, corrupt, bad CRC); what came before is good."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int  # bytes inflated, all layers and members together
    max_ratio: float  # inflated / compressed, per compressed stream
    max_depth: int = 1  # archives (a .gz, a .zip) inside one another
    max_members: int = 1  # files inside archives, all levels together
    bytes_setting: str = "FILE_MAX_INFLATED_BYTES"  # named in refusals

    @classmethod
    def for_files(cls, *, max_bytes: int | None = None, max_ratio: float | None = None) -> Limits:
        from django.conf import settings

        return cls(
            max_bytes=max_bytes or settings.FILE_MAX_INFLATED_BYTES,
            max_ratio=max_ratio or settings.DECOMPRESSION_MAX_RATIO,
            max_depth=settings.ARCHIVE_MAX_DEPTH,
            max_members=settings.ARCHIVE_MAX_MEMBERS,
        )

    @classmethod
    def for_requests(cls) -> Limits:
        from django.conf import settings

        return cls(
            max_bytes=settings.INGEST_MAX_BODY_BYTES,
            max_ratio=settings.DECOMPRESSION_MAX_RATIO,
            bytes_setting="INGEST_MAX_BODY_BYTES",
        )


class InflatedCounter:
    """Bytes this process has inflated, all inputs together: what tests and the bench read
    to show that a bomb was stopped early, not after the fact."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes = 0

    def add(self, count: int) -> None:
        with self._lock:
            self.bytes += count


INFLATED = InflatedCounter()


def size_text(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.4g} {unit}"
        count /= 1024
    raise AssertionError  # pragma: no cover


class Budget:
    """The running count for one input: bytes inflated and archive members seen."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.inflated = 0
        self.members = 0

    def room(self) -> int:
        """How much the next inflate call may produce: the rest of the budget, plus the
        one byte that shows it was overrun."""
        return max(1, self.limits.max_bytes - self.inflated + 1)

    def charge(self, count: int, name: str) -> None:
        self.inflated += count
        INFLATED.add(count)
        if self.inflated > self.limits.max_bytes:
            raise TooLarge(
                f"{name} decompresses to more than {size_text(self.limits.max_bytes)} "
                f"({self.limits.bytes_setting})."
            )

    def check_declared(self, name: str, size: int) -> None:
        """A zip member says its size up front (and is never inflated past it)."""
        if size > self.limits.max_bytes - self.inflated:
            raise TooLarge(
                f"{name} says it decompresses to {size_text(size)}, more than the "
                f"{size_text(self.limits.max_bytes)} allowed ({self.limits.bytes_setting})."
            )

    def check_ratio(self, name: str, inflated: int, consumed: int) -> None:
        if inflated > RATIO_GRACE and inflated > self.limits.max_ratio * max(consumed, 1):
            raise TooLarge(
                f"{name} inflates more than {self.limits.max_ratio:g} times its compressed "
                f"size (DECOMPRESSION_MAX_RATIO): refused as a decompression bomb."
            )

    def enter(self, name: str, depth: int) -> None:
        if depth > self.limits.max_depth:
            raise TooLarge(
                f"{name}: archives nested more than {self.limits.max_depth} deep "
                "(ARCHIVE_MAX_DEPTH)."
            )

    def count_member(self, name: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise TooLarge(
                f"{name}: more than {self.limits.max_members:,} files in the archives "
                "(ARCHIVE_MAX_MEMBERS)."
            )


# ---- streams ---------------------------------------------------------------------------


class GzipReader:
    """The inflated content of a gzip stream (every member of it), charged to a budget."""

    def __init__(self, source: Stream, budget: Budget, name: str) -> None:
        self._source = source
        self._budget = budget
        self._name = name
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._input = b""  # compressed bytes not yet taken by the inflater
        self._consumed = 0
        self._inflated = 0
        self._ended = False

    def read(self, size: int = -1, /) -> bytes:
        size = BLOCK if size is None or size < 0 else size
        while not self._ended:
            if self._inflater.eof:
                self._next_member()
                continue
            if not self._input:
                self._input = self._source.read(INPUT_BLOCK)
                if not self._input:
                    raise Damaged(
                        f"{self._name}: the gzip data ends early (truncated) after "
                        f"{self._inflated:,} bytes."
                    )
            given = len(self._input)
            try:
                data = self._inflater.decompress(self._input, min(size, self._budget.room()))
            except zlib.error as exc:
                raise Damaged(
                    f"{self._name}: the gzip data is corrupt after {self._inflated:,} bytes "
                    f"({exc})."
                ) from exc
            self._input = self._inflater.unconsumed_tail
            self._consumed += given - len(self._input) - len(self._inflater.unused_data)
            if data:
                self._inflated += len(data)
                self._budget.charge(len(data), self._name)
                self._budget.check_ratio(self._name, self._inflated, self._consumed)
                return data
        return b""

    def _next_member(self) -> None:
        """After one gzip member: another member, zero padding (as gzip(1) allows), or
        the end."""
        rest = self._inflater.unused_data
        while len(rest := rest.lstrip(b"\x00")) < 2:
            more = self._source.read(INPUT_BLOCK)
            if not more:
                if rest:
                    raise Damaged(f"{self._name}: stray bytes after the gzip data.")
                self._ended = True
                return
            rest += more
        if rest[:2] != GZIP_MAGIC:
            raise Damaged(f"{self._name}: data after the end of the gzip stream is not gzip.")
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._input = rest


class ZipMemberReader:
    """One zip member's content (stored or deflated), charged to a budget."""

    def __init__(
        self, handle: zipfile.ZipExtFile, budget: Budget, name: str, compressed_size: int
    ) -> None:
        self._handle = handle
        self._budget = budget
        self._name = name
        self._compressed = compressed_size
        self._inflated = 0

    def read(self, size: int = -1, /) -> bytes:
        size = BLOCK if size is None or size < 0 else size
        try:
            data = self._handle.read1(min(size, self._budget.room()))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise Damaged(
                f"{self._name}: the zip member is corrupt after {self._inflated:,} bytes ({exc})."
            ) from exc
        if data:
            self._inflated += len(data)
            self._budget.charge(len(data), self._name)
            self._budget.check_ratio(self._name, self._inflated, self._compressed)
        return data


class Prefixed:
    """``head`` (already read to look at it), then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: Stream) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            if size is None or size < 0 or size >= len(self._head):
                head, self._head = self._head, b""
                return head
            head, self._head = self._head[:size], self._head[size:]
            return head
        return self._stream.read(size)


class Limited:
    """The first ``size`` bytes of ``stream``; a break before them ends it quietly (the
    survey already reported it)."""

    def __init__(self, stream: Stream, size: int) -> None:
        self._stream = stream
        self._left = size

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            return b""
        size = BLOCK if size is None or size < 0 else size
        try:
            data = self._stream.read(min(size, self._left))
        except Damaged:
            data = b""
        if not data:
            self._left = 0
        self._left -= len(data)
        return data


def read_head(stream: Stream, size: int) -> bytes:
    """At least ``size`` bytes from the start (fewer only when the stream is shorter)."""
    head = b""
    while len(head) < size:
        data = stream.read(size - len(head))
        if not data:
            break
        head += data
    return head


def spool(stream: Stream) -> IO[bytes]:
    """A seekable copy of ``stream`` (memory first, then a temporary file): a zip needs
    its central directory at the end, and the EVTX reader seeks."""
    copy = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    try:
        while data := stream.read(BLOCK):
            copy.write(data)
    except BaseException:
        copy.close()
        raise
    copy.seek(0)
    return copy


# ---- archives --------------------------------------------------------------------------


@dataclass
class Member:
    """A file found in the input: its name (``upload.zip/logs/a.log``) and its content,
    or the problem that keeps it from being read."""

    name: str
    stream: Stream | None
    problem: str | None = None
    seekable: IO[bytes] | None = None  # the same content, when it can be seeked


def walk(
    name: str,
    stream: Stream,
    budget: Budget,
    *,
    seekable: IO[bytes] | None = None,
    depth: int = 0,
) -> Iterator[Member]:
    """The files in ``stream``: itself, or what its gzip and zip layers hold (depth first).

    ``seekable`` is the same input as a seekable file, when the caller has one (a zip is
    then read in place, not copied). A member must be read before the next is asked for.
    ``TooLarge`` ends the walk; a member that cannot be read comes out with its problem.
    """
    try:
        head = read_head(stream, 512)
    except Damaged as exc:
        yield Member(name, None, str(exc))
        return
    stream = Prefixed(head, stream)
    lower = name.lower()
    if head[:2] == GZIP_MAGIC:
        budget.enter(name, depth + 1)
        inner = name[: -len(".gz")] if lower.endswith(".gz") else name
        yield from walk(inner, GzipReader(stream, budget, name), budget, depth=depth + 1)
    elif head[:4] in ZIP_MAGICS:
        budget.enter(name, depth + 1)
        yield from _zip_members(name, stream, budget, seekable, depth + 1)
    elif lower.endswith((".gz", ".gzip")):
        yield Member(name, None, f"{name}: named like a gzip file, but it is not gzip data.")
    elif lower.endswith(".zip"):
        yield Member(name, None, f"{name}: named like a zip archive, but it is not one.")
    elif head[257:262] == b"ustar" or lower.endswith((".tar", ".tgz")):
        yield Member(name, None, f"{name}: a tar archive; socapp reads .gz and .zip, not tar.")
    else:
        yield Member(name, stream, seekable=seekable)


def _zip_members(
    name: str, stream: Stream, budget: Budget, seekable: IO[bytes] | None, depth: int
) -> Iterator[Member]:
    own_copy = None
    if seekable is None:
        try:
            seekable = own_copy = spool(stream)
        except Damaged as exc:
            yield Member(name, None, str(exc))
            return
    try:
        seekable.seek(0)
        _check_directory(name, seekable, budget.limits)
        try:
            archive = zipfile.ZipFile(seekable)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
            yield Member(name, None, f"{name}: not a readable zip archive ({exc}).")
            return
        with archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                member_name = f"{name}/{info.filename}"
                budget.count_member(member_name)
                problem = _unreadable_member(info)
                if problem:
                    yield Member(member_name, None, f"{member_name}: {problem}")
                    continue
                budget.check_declared(member_name, info.file_size)
                try:
                    # Opened to read, a member is a ZipExtFile (typeshed says IO[bytes]).
                    handle = cast(zipfile.ZipExtFile, archive.open(info))
                except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError) as exc:
                    yield Member(member_name, None, f"{member_name}: cannot be opened ({exc}).")
                    continue
                with handle:
                    reader = ZipMemberReader(handle, budget, member_name, info.compress_size)
                    yield from walk(member_name, reader, budget, depth=depth)
    finally:
        if own_copy is not None:
            own_copy.close()


def _unreadable_member(info: zipfile.ZipInfo) -> str | None:
    if info.flag_bits & 0x1:
        return "encrypted; socapp does not read encrypted archives."
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return (
            f"compressed with method {info.compress_type}; socapp reads stored and deflated "
            "members only (other methods cannot be inflated at a bounded cost)."
        )
    return None


_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")


def _check_directory(name: str, archive: IO[bytes], limits: Limits) -> None:
    """Refuse a zip whose central directory is too big for ``max_members`` files before
    :mod:`zipfile` turns every entry of it into an object (it trusts the directory's size,
    not its count)."""
    archive.seek(0, 2)
    end = archive.tell()
    tail_size = min(end, _END.size + 65535)
    archive.seek(end - tail_size)
    tail = archive.read(tail_size)
    archive.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END.size:
        return  # zipfile will say what is wrong with it
    entries, directory = _END.unpack_from(tail, at)[4:6]
    locator = at - _END64_LOCATOR.size
    if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        offset = _END64_LOCATOR.unpack_from(tail, locator)[2]
        if offset < end:
            archive.seek(offset)
            record = archive.read(56)
            archive.seek(0)
            if record[:4] == b"PK\x06\x06" and len(record) == 56:
                entries, directory = struct.unpack_from("<QQ", record, 32)
    allowed = max(64 * 1024, limits.max_members * ZIP_DIRECTORY_BYTES_PER_MEMBER)
    if entries > limits.max_members or directory > allowed:
        raise TooLarge(
            f"{name}: the zip lists {entries:,} files in a {size_text(directory)} directory; "
            f"at most {limits.max_members:,} files are read (ARCHIVE_MAX_MEMBERS)."
        )
