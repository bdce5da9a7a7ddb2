"""Reading the shared test data (never copied into the repository; see ../shared/data)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from events.parsers import ParseContext, RawRecord, Rejected, parser_for
from socapp.shared_data import shared_data_dir

DATA = shared_data_dir()
BEATS = DATA / "beats-module-tests"


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def beats_pairs(relative: str) -> list[tuple[str, dict[str, Any]]]:
    """(input line, expected ECS document) for a beats sample, joined by log.offset
    (or by event.original where the README says offsets drifted)."""
    log = BEATS / relative
    text = log.read_bytes()
    expected = json.loads((BEATS / f"{relative}-expected.json").read_text())
    pairs = []
    for doc in expected:
        flat = flatten(doc) if any(isinstance(v, dict) for v in doc.values()) else doc
        original = flat.get("event.original")
        if original is not None:
            line = original
        else:
            offset = flat["log.offset"]
            line = text[offset:].split(b"\n", 1)[0].decode("utf-8", errors="replace")
        pairs.append((line, flat))
    return pairs


def parse_lines(
    log_format: str,
    lines: list[str | dict],
    *,
    received_at: datetime | None = None,
    time_zone: Any = UTC,
) -> list:
    context = ParseContext(
        received_at=received_at or datetime(2026, 11, 28, tzinfo=UTC), time_zone=time_zone
    )
    records = [RawRecord(n, line) for n, line in enumerate(lines, 1)]
    return list(parser_for(log_format)(records, context))


def parse_one(log_format: str, line: str | dict, **kwargs: Any):
    [result] = parse_lines(log_format, [line], **kwargs)
    assert not isinstance(result, Rejected), result.reason
    return result


def compare(ours: dict[str, Any], expected: dict[str, Any], fields: list[str]) -> list[str]:
    """Fields the expected document has that we place differently (or not at all)."""
    flat = flatten(ours)
    problems = []
    for name in fields:
        if name in expected and flat.get(name) != expected[name]:
            problems.append(f"{name}: ours {flat.get(name)!r} != expected {expected[name]!r}")
    return problems
