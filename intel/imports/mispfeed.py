"""The MISP feed format: ``manifest.json`` (event uuid -> info, timestamp, tags) and one
``<uuid>.json`` per event, read from a directory, a zip archive, or a URL (polling).

Only events whose manifest timestamp differs from what the last read recorded are read
again (``known``: uuid -> timestamp, kept in the feed's ``poll_state``). The events
together are bounded like one input (``INTEL_IMPORT_MAX_BYTES``); a zip is inflated
through ``socapp.inflate`` (bounded output, ratio, members: a zip bomb is refused).
Event names must be uuids: nothing else is ever opened or fetched.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from socapp import inflate

from .base import Collector, ImportRefused, ImportTooLarge, Limits, as_dict, load_json
from .misp import parse_events

MANIFEST = "manifest.json"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def manifest_of(data: bytes, limits: Limits) -> dict[str, str]:
    """Event uuid -> timestamp, from a manifest."""
    manifest = as_dict(load_json(data, limits, MANIFEST), MANIFEST)
    events: dict[str, str] = {}
    for uuid, about in manifest.items():
        if not UUID.match(uuid.lower()):
            raise ImportRefused(f"{MANIFEST}: {uuid[:80]!r} is not an event uuid.")
        stamp = about.get("timestamp") if isinstance(about, dict) else None
        events[uuid.lower()] = str(stamp or "")
    return events


def read_feed(
    manifest: dict[str, str],
    load_event: Callable[[str], bytes],
    collector: Collector,
    known: dict[str, str] | None = None,
    max_events: int | None = None,
) -> dict[str, str]:
    """Read the events that changed since ``known``; the state to keep for next time
    (events beyond ``max_events`` are left for the next read)."""
    state = dict(known or {})
    changed = [uuid for uuid, stamp in sorted(manifest.items()) if state.get(uuid) != stamp]
    total = 0
    for uuid in changed[:max_events]:
        data = load_event(uuid)
        total += len(data)
        if total > collector.limits.max_bytes:
            raise ImportTooLarge(
                f"event {uuid}: the feed's events pass {collector.limits.max_bytes:,} bytes "
                "together (INTEL_IMPORT_MAX_BYTES)."
            )
        parse_events(data, collector, f"event {uuid}")
        state[uuid] = manifest[uuid]
    return state


def read_directory(directory: Path, collector: Collector) -> dict[str, str]:
    def load(uuid: str) -> bytes:
        path = directory / f"{uuid}.json"
        if not path.is_file():
            raise ImportRefused(f"event {uuid} is in the manifest but {path.name} is missing.")
        collector.limits.check_bytes(path.stat().st_size, path.name)
        return path.read_bytes()

    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ImportRefused(f"{directory} has no {MANIFEST}: not a MISP feed.")
    collector.limits.check_bytes(manifest_path.stat().st_size, MANIFEST)
    return read_feed(manifest_of(manifest_path.read_bytes(), collector.limits), load, collector)


def _zip_members(data: bytes, limits: Limits, name: str) -> dict[str, bytes]:
    """The files of a zip by base name, inflated within the import's bounds."""
    budget = inflate.Budget(
        inflate.Limits(
            max_bytes=limits.max_bytes,
            max_ratio=settings.DECOMPRESSION_MAX_RATIO,
            max_depth=1,
            max_members=settings.ARCHIVE_MAX_MEMBERS,
            bytes_setting="INTEL_IMPORT_MAX_BYTES",
        )
    )
    members: dict[str, bytes] = {}
    try:
        for member in inflate.walk(name, io.BytesIO(data), budget, seekable=io.BytesIO(data)):
            if member.stream is None:
                raise ImportRefused(member.problem or f"{member.name} cannot be read.")
            pieces = []
            while piece := member.stream.read(inflate.BLOCK):
                pieces.append(piece)
            members[member.name.rsplit("/", 1)[-1]] = b"".join(pieces)
    except inflate.TooLarge as exc:
        raise ImportTooLarge(str(exc)) from None
    except inflate.InputRefused as exc:
        raise ImportRefused(str(exc)) from None
    return members


def read_zip(data: bytes, collector: Collector, name: str = "the feed") -> dict[str, str]:
    collector.limits.check_bytes(len(data), name)
    if data[:4] not in inflate.ZIP_MAGICS:
        raise ImportRefused(f"{name} is not a zip archive of a MISP feed.")
    members = _zip_members(data, collector.limits, name)
    if MANIFEST not in members:
        raise ImportRefused(f"{name} has no {MANIFEST}: not a MISP feed.")

    def load(uuid: str) -> bytes:
        found = members.get(f"{uuid}.json")
        if found is None:
            raise ImportRefused(f"event {uuid} is in the manifest but {uuid}.json is missing.")
        return found

    return read_feed(manifest_of(members[MANIFEST], collector.limits), load, collector)
