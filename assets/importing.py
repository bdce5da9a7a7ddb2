"""CSV import of the inventory: one transaction, bounded, and an answer per line.

Columns (a header row names them, any order; only ``name`` and ``type`` are required):
name, type, ip_addresses, mac_addresses, hostnames, os, owner, team, criticality, tags,
attributes (a JSON object). Lists are separated by ``;``. A row whose name (any case)
exists updates that asset with the columns present; a row that changes nothing is
"unchanged"; a row that cannot be used is skipped with its line number and the reason.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from socapp.audit import audit_record
from socapp.models import Team
from socapp.users import User

from .index import inventory_changed
from .models import AssetType
from .selectors import assets_named
from .services import asset_create, asset_update

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_REASONS = 200  # skipped lines listed one by one; the count covers every one
MAX_FIELD = 16_384  # characters in one cell (csv's own limit is 128 KiB)

COLUMNS = {
    "name": "name",
    "type": "asset_type",
    "asset_type": "asset_type",
    "ip_addresses": "ip_addresses",
    "mac_addresses": "mac_addresses",
    "hostnames": "hostnames",
    "os": "operating_system",
    "operating_system": "operating_system",
    "owner": "owner",
    "team": "team",
    "criticality": "criticality",
    "tags": "tags",
    "attributes": "attributes",
}
LISTS = {"ip_addresses", "mac_addresses", "hostnames", "tags"}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, line: int, reason: str) -> None:
        self.skipped += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append({"line": line, "reason": reason[:300]})

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "reasons": self.reasons,
        }


def _text(content: bytes | str) -> str:
    if len(content) > MAX_BYTES:
        raise ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
    if isinstance(content, str):
        return content
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text.") from None


def _rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header's known columns and each data row with its line number; refuses a
    file over ``MAX_ROWS`` rows before any is used."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        unknown = [h for h in header if h and h not in COLUMNS]
        if unknown:
            raise ValidationError(f"Unknown column(s): {', '.join(unknown[:10])[:200]}.")
        if "name" not in header or not ({"type", "asset_type"} & set(header)):
            raise ValidationError("The header must name the columns name and type.")
        rows: list[tuple[int, dict[str, str]]] = []
        for values in reader:
            if len(rows) >= MAX_ROWS:
                raise ValidationError(f"More than {MAX_ROWS} rows: split the file.")
            if not any(v.strip() for v in values):
                continue
            rows.append((reader.line_num, dict(zip(header, values, strict=False))))
    except csv.Error as exc:
        raise ValidationError(f"Line {reader.line_num}: not CSV ({exc}).") from None
    return header, rows


def _row_data(row: dict[str, str], teams: dict[str, Team]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for column, value in row.items():
        if not column or column in ("type", "asset_type"):
            continue
        if len(value) > MAX_FIELD:
            raise ValidationError(f"{column}: longer than {MAX_FIELD} characters")
        key = COLUMNS[column]
        if key in LISTS:
            data[key] = [v for v in (p.strip() for p in value.split(";")) if v]
        elif key == "attributes":
            try:
                data[key] = json.loads(value) if value.strip() else {}
            except ValueError:
                raise ValidationError("attributes: not JSON") from None
        elif key == "team":
            team = teams.get(value.strip().lower()) if value.strip() else None
            if value.strip() and team is None:
                raise ValidationError(f"team: no team named {value.strip()[:60]!r}")
            data[key] = team
        elif key == "criticality":
            data[key] = value.strip().lower() or "medium"
        else:
            data[key] = value
    return data


def _reason(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def assets_import(*, actor: User | None, content: bytes | str) -> ImportResult:
    """Import a CSV inventory (see the module's docstring); the whole file or nothing."""
    _, rows = _rows(_text(content))
    types = {t.name.lower(): t for t in AssetType.objects.all()}
    teams = {t.name.lower(): t for t in Team.objects.all()}
    existing = assets_named(r.get("name", "").strip() for _, r in rows)
    result = ImportResult()
    seen: set[str] = set()
    with transaction.atomic():
        for line, row in rows:
            _import_row(actor, line, row, types, teams, existing, seen, result)
        audit_record(
            actor=actor,
            action="asset.import",
            changes={k: v for k, v in result.as_dict().items() if k != "reasons"},
        )
        if result.created or result.updated:
            inventory_changed()
    return result


def _import_row(
    actor: User | None,
    line: int,
    row: dict[str, str],
    types: dict[str, AssetType],
    teams: dict[str, Team],
    existing: dict[str, Any],
    seen: set[str],
    result: ImportResult,
) -> None:
    name = row.get("name", "").strip()
    type_name = (row.get("type") or row.get("asset_type") or "").strip()
    if not name:
        result.skip(line, "name: empty")
        return
    if name.lower() in seen:
        result.skip(line, f"name: {name[:60]!r} repeats an earlier line")
        return
    seen.add(name.lower())
    asset = existing.get(name.lower())
    asset_type = types.get(type_name.lower()) if type_name else None
    if asset_type is None and (type_name or asset is None):
        result.skip(line, f"type: no asset type named {type_name[:60]!r}")
        return
    try:
        data = _row_data(row, teams)
        with transaction.atomic():  # a savepoint: a refused row leaves nothing behind
            if asset is None:
                asset_create(actor=actor, asset_type=asset_type, data=data, quiet=True)  # type: ignore[arg-type]
                result.created += 1
            elif asset_update(
                actor=actor, asset=asset, data=data, asset_type=asset_type, quiet=True
            ):
                result.updated += 1
            else:
                result.unchanged += 1
    except ValidationError as exc:
        result.skip(line, _reason(exc))
    except PermissionDenied as exc:  # another team's asset, for an integration account
        result.skip(line, f"team: {exc}")
