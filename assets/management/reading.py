"""What the import commands share: reading a file no further than the import's limit."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError


def read_capped(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``path``: one byte more than an import takes is
    enough for it to refuse the file as too large, without reading all of a huge one."""
    try:
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from None
