"""Hostile inputs, built when needed (never committed): gzip bombs, archives that nest or
multiply, truncated streams. Shared by the tests and bench/hostile_ingest_bench.py."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

MiB = 1024 * 1024
GiB = 1024 * MiB


def gzip_of(pattern: bytes, total: int) -> bytes:
    """A valid gzip file of ``pattern`` repeated to ``total`` bytes, built without ever
    holding or deflating ``total`` bytes: a MiB is deflated once (with a full flush, which
    resets the dictionary), and its compressed form repeated. 1 GiB of zeros comes out
    at about 1 MiB."""
    block = pattern * (MiB // len(pattern))
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = deflater.compress(block) + deflater.flush(zlib.Z_FULL_FLUSH)
    again = deflater.compress(block) + deflater.flush(zlib.Z_FULL_FLUSH)
    assert deflater.compress(block) + deflater.flush(zlib.Z_FULL_FLUSH) == again
    blocks, rest = divmod(total, len(block))
    tail = deflater.compress(block[:rest]) + deflater.flush()
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(block[:rest], crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    body = first + again * (blocks - 1) if blocks else b""
    return header + body + tail + struct.pack("<II", crc, total & 0xFFFFFFFF)


def gzip_bomb() -> bytes:
    """1 GiB of zeros, about 1 MiB compressed."""
    return gzip_of(b"\x00", GiB)


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def nested_zips(depth: int, innermost: bytes, name: str = "auth.log") -> bytes:
    """A zip holding a zip holding ... ``depth`` zips in all, the last holding the log."""
    data = zip_of({name: innermost})
    for level in range(depth - 1):
        data = zip_of({f"level{level}.zip": data})
    return data
