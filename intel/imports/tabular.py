"""CSV with a column mapping, and plain lists (one indicator a line).

CSV: a header row, then one indicator a row. The mapping says which column holds what,
``field=column`` pairs joined by commas, e.g. ``value=indicator,type=kind,confidence=score``
(``MAPPING_FIELDS`` lists the fields; ``value`` is required). Without a ``type`` column
the import gives one type for all rows, or each value's type is guessed from its shape.

Plain list: one indicator a line; blank lines and ``#`` comments are skipped, as is
whatever follows the first space or tab (many lists add a comment there). Each line's
type is guessed from its shape (``intel.normalize.guess``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..choices import IocType, Tlp
from .base import Collector, ImportRefused, timestamp

MAPPING_FIELDS = (
    "value", "type", "confidence", "tags", "description", "first_seen", "last_seen",
    "expires_at", "tlp", "external_id",
)  # fmt: skip
DEFAULT_MAPPING = "value=value,type=type"
# Type names feeds use -> our IOC types (ours are accepted as they are).
TYPE_ALIASES = {
    "ip": IocType.IPV4, "ip-src": IocType.IPV4, "ip-dst": IocType.IPV4,
    "ipv4-addr": IocType.IPV4, "ipv6-addr": IocType.IPV6, "network": IocType.CIDR,
    "hostname": IocType.DOMAIN, "domain-name": IocType.DOMAIN, "fqdn": IocType.DOMAIN,
    "uri": IocType.URL, "email-addr": IocType.EMAIL, "email-src": IocType.EMAIL,
    "sha-1": IocType.SHA1, "sha-256": IocType.SHA256, "file": IocType.FILENAME,
    "file name": IocType.FILENAME, "user-agent": IocType.USER_AGENT,
    "ja3-fingerprint-md5": IocType.JA3,
}  # fmt: skip
TLP_VALUES = {"white": Tlp.CLEAR, **{choice.value: choice.value for choice in Tlp}}


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)  # our field -> the CSV column
    fixed_type: str | None = None


def parse_mapping(text: str | None, fixed_type: str | None = None) -> Mapping:
    """``field=column,...`` read and checked; ValueError says what is wrong."""
    columns: dict[str, str] = {}
    for pair in (text or DEFAULT_MAPPING).split(","):
        ours, sep, theirs = pair.partition("=")
        ours, theirs = ours.strip().lower(), theirs.strip()
        if not sep or not theirs or ours not in MAPPING_FIELDS:
            raise ValueError(
                f"{pair.strip()!r}: a mapping is field=column pairs, the fields being "
                f"{', '.join(MAPPING_FIELDS)}."
            )
        columns[ours] = theirs
    if "value" not in columns:
        raise ValueError("The mapping must name the value's column (value=...).")
    if fixed_type is not None and fixed_type not in IocType.values:
        raise ValueError(f"Unknown indicator type {fixed_type!r}: one of {', '.join(IocType)}.")
    if fixed_type is not None:
        columns.pop("type", None)
    return Mapping(columns, fixed_type)


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"{name} is not UTF-8 text (byte {exc.start}).") from None


def _confidence(raw: str) -> float | None:
    try:
        number = float(raw)
    except ValueError:
        return None
    number = number / 100 if number > 1 else number
    return number if 0 <= number <= 1 else None


def _row_type(raw: str | None, mapping: Mapping) -> tuple[bool, str | None]:
    """(known, IOC type or None to guess) of a row."""
    if mapping.fixed_type:
        return True, mapping.fixed_type
    if not raw:
        return True, None
    lowered = raw.strip().lower()
    if lowered in IocType.values:
        return True, lowered
    alias = TYPE_ALIASES.get(lowered)
    return alias is not None, alias


def _about(row: dict[str, Any], mapping: Mapping, where: str) -> dict[str, Any]:
    def cell(name: str) -> str:
        column = mapping.columns.get(name)
        value = row.get(column) if column else None
        return value.strip() if isinstance(value, str) else ""

    about: dict[str, Any] = {
        "external_id": cell("external_id")[:255],
        "description": cell("description")[:2000],
        "tags": [t.strip()[:100] for t in cell("tags").replace("|", ";").split(";") if t.strip()][
            :50
        ],
        "tlp": TLP_VALUES.get(cell("tlp").lower().removeprefix("tlp:"), ""),
        "confidence": _confidence(cell("confidence")) if cell("confidence") else None,
    }
    for name in ("first_seen", "last_seen", "expires_at"):
        about[name] = timestamp(cell(name), f"{where}: {name}")
    return about


def parse_csv(data: bytes, collector: Collector, mapping: Mapping, name: str = "the CSV") -> None:
    collector.limits.check_bytes(len(data), name)
    reader = csv.DictReader(io.StringIO(_text(data, name), newline=""))
    try:
        header = reader.fieldnames or []
        missing = [column for column in mapping.columns.values() if column not in header]
        if missing:
            raise ImportRefused(
                f"{name}: no column {', '.join(repr(m) for m in missing)} in the header "
                f"({', '.join(repr(h) for h in header[:20])})."
            )
        for row in reader:
            where = f"line {reader.line_num}"
            collector.count_object(where)
            value = (row.get(mapping.columns["value"]) or "").strip()
            if not value:
                collector.skip(where, "no value")
                continue
            known, ioc_type = _row_type(row.get(mapping.columns.get("type", "")), mapping)
            if not known:
                kind = row.get(mapping.columns.get("type", ""))
                collector.skip(where, f"unknown indicator type {kind!r}", value)
                continue
            collector.add(ioc_type, value, where, **_about(row, mapping, where))
    except csv.Error as exc:
        raise ImportRefused(f"{name}, line {reader.line_num}: not readable CSV ({exc}).") from None


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";", "//")):
            yield number, stripped.split()[0]


def parse_list(
    data: bytes, collector: Collector, ioc_type: str | None = None, name: str = "the list"
) -> None:
    collector.limits.check_bytes(len(data), name)
    if ioc_type is not None and ioc_type not in IocType.values:
        raise ImportRefused(f"Unknown indicator type {ioc_type!r}.")
    for number, value in _lines(_text(data, name)):
        where = f"line {number}"
        collector.count_object(where)
        collector.add(ioc_type, value, where)
