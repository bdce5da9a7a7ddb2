"""Changing the inventory. Each service takes the acting user, runs in one transaction,
writes the audit log and tells every process's inventory map that it is out of date."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import jsonschema
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from socapp.audit import audit_record, model_changes
from socapp.models import Team
from socapp.users import User

from . import normalize
from .choices import Criticality
from .index import current, inventory_changed
from .models import Asset, AssetType, DiscoveredHost, DiscoveryCursor

# The fields a caller may set, and how each is made canonical.
LIST_FIELDS = {
    "ip_addresses": (normalize.ip, "IP addresses"),
    "mac_addresses": (normalize.mac, "MAC addresses"),
    "hostnames": (normalize.hostname, "host names"),
}
TEXT_FIELDS = {"name": 255, "operating_system": 255, "owner": 255}
MAX_ATTRIBUTES_BYTES = 16_384


def check_attribute_schema(schema: Any) -> None:
    """An asset type's schema must itself be a valid JSON Schema (draft 2020-12)."""
    if not isinstance(schema, dict):
        raise ValidationError({"attributes_schema": "A JSON object is expected."})
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValidationError({"attributes_schema": f"Not a JSON Schema: {exc.message}"}) from None


def _check_attributes(attributes: Any, asset_type: AssetType) -> dict[str, Any]:
    if not isinstance(attributes, dict):
        raise ValidationError({"attributes": "A JSON object is expected."})
    if len(repr(attributes)) > MAX_ATTRIBUTES_BYTES:
        raise ValidationError({"attributes": f"At most {MAX_ATTRIBUTES_BYTES} bytes."})
    if asset_type.attributes_schema:
        validator = jsonschema.Draft202012Validator(asset_type.attributes_schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(attributes))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "attributes"
            raise ValidationError(
                {"attributes": f"{where}: {error.message} (schema of {asset_type.name})"}
            )
    return attributes


def clean_fields(data: Mapping[str, Any], asset_type: AssetType) -> dict[str, Any]:
    """``data`` made canonical and checked: lists normalized and bounded, text bounded,
    criticality known, attributes valid for ``asset_type``."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, (one, what) in LIST_FIELDS.items():
        if key in data:
            try:
                clean[key] = normalize.many(data[key] or [], one, what=what)
            except ValueError as exc:
                errors[key] = str(exc)
    if "tags" in data:
        try:
            clean["tags"] = normalize.tags(data["tags"] or [])
        except ValueError as exc:
            errors["tags"] = str(exc)
    for key, limit in TEXT_FIELDS.items():
        if key in data:
            value = str(data[key] or "").strip()
            if len(value) > limit or "\x00" in value:
                errors[key] = f"At most {limit} characters, no NUL."
            clean[key] = value
    if "name" in clean and not clean["name"]:
        errors["name"] = "A name is required."
    if "criticality" in data:
        if data["criticality"] not in Criticality.values:
            errors["criticality"] = f"One of {', '.join(Criticality.values)}."
        clean["criticality"] = data["criticality"]
    for key in ("team", "first_seen", "last_seen"):
        if key in data:
            clean[key] = data[key]
    if errors:
        raise ValidationError(errors)
    if "attributes" in data:
        clean["attributes"] = _check_attributes(data["attributes"] or {}, asset_type)
    return clean


def _snapshot(asset: Asset) -> dict[str, Any]:
    return {
        "name": asset.name,
        "asset_type": asset.asset_type.name,
        "ip_addresses": list(asset.ip_addresses),
        "mac_addresses": list(asset.mac_addresses),
        "hostnames": list(asset.hostnames),
        "operating_system": asset.operating_system,
        "owner": asset.owner,
        "team": asset.team.name if asset.team else None,
        "criticality": asset.criticality,
        "tags": list(asset.tags),
        "attributes": asset.attributes,
    }


def writable_team_ids(actor: User | None) -> set[Any] | None:
    """The teams whose assets ``actor`` may write (and their findings), besides assets
    of no team; None for every team. Roles with ``assets.manage_all_assets`` (managers,
    SOC admins) and the system write any; others (integration accounts) only their
    teams', so one team's machine account cannot re-team or rewrite another's inventory,
    which decides what that team's alerts say about their hosts."""
    if actor is None or actor.is_superuser or actor.has_perm("assets.manage_all_assets"):
        return None
    return set(actor.teams.values_list("pk", flat=True))


def _check_team_scope(actor: User | None, *teams: Team | None) -> None:
    """PermissionDenied unless ``actor`` may write an asset of each of ``teams`` (before
    and after the change)."""
    mine = writable_team_ids(actor)
    if mine is None:
        return
    for team in teams:
        if team is not None and team.pk not in mine:
            raise PermissionDenied(
                f"You may only change assets of your own teams or of no team, not of {team.name}."
            )


def _name_taken(name: str, but: Asset | None) -> bool:
    others = Asset.objects.filter(name__iexact=name)
    if but is not None:
        others = others.exclude(pk=but.pk)
    return others.exists()


def _claimed_discoveries(asset: Asset) -> None:
    """What the asset now claims is no longer "seen, not in inventory"."""
    q = Q(kind=DiscoveredHost.Kind.IP, value__in=asset.ip_addresses) | Q(
        kind=DiscoveredHost.Kind.HOST, value__in=asset.hostnames
    )
    DiscoveredHost.objects.filter(q).delete()


def asset_create(
    *, actor: User | None, asset_type: AssetType, data: Mapping[str, Any], quiet: bool = False
) -> Asset:
    """A new asset. ``quiet``: the caller (an import) audits and announces the change
    once for its whole batch."""
    fields = clean_fields(data, asset_type)
    if "name" not in fields:
        raise ValidationError({"name": "A name is required."})
    _check_team_scope(actor, fields.get("team"))
    with transaction.atomic():
        if _name_taken(fields["name"], None):
            raise ValidationError({"name": "An asset of that name exists."})
        asset = Asset.objects.create(asset_type=asset_type, **fields)
        _claimed_discoveries(asset)
        if not quiet:
            audit_record(
                actor=actor,
                action="asset.create",
                target=asset,
                changes=model_changes({}, _snapshot(asset)),
            )
            inventory_changed()
    return asset


def asset_update(
    *,
    actor: User | None,
    asset: Asset,
    data: Mapping[str, Any],
    asset_type: AssetType | None = None,
    quiet: bool = False,
) -> dict[str, list[Any]]:
    """Apply ``data`` (the fields given); the changes made (none: nothing is written)."""
    asset_type = asset_type or asset.asset_type
    if "attributes" not in data and asset_type != asset.asset_type:
        data = {**data, "attributes": asset.attributes}  # the new type's schema must hold
    fields = clean_fields(data, asset_type)
    _check_team_scope(actor, asset.team, fields.get("team", asset.team))
    before = _snapshot(asset)
    with transaction.atomic():
        if "name" in fields and _name_taken(fields["name"], asset):
            raise ValidationError({"name": "An asset of that name exists."})
        asset.asset_type = asset_type
        for key, value in fields.items():
            setattr(asset, key, value)
        changes = model_changes(before, _snapshot(asset))
        if not changes:
            return {}
        asset.save()
        _claimed_discoveries(asset)
        if not quiet:
            audit_record(actor=actor, action="asset.update", target=asset, changes=changes)
            inventory_changed()
    return changes


def asset_delete(*, actor: User | None, asset: Asset) -> None:
    _check_team_scope(actor, asset.team)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="asset.delete",
            target=asset,
            changes=model_changes(_snapshot(asset), {}),
        )
        asset.delete()
        inventory_changed()


def team_named(name: str) -> Team | None:
    return Team.objects.filter(name__iexact=name.strip()).first() if name.strip() else None


def discovery_record(*, seen: list[tuple[str, str, Any, Any, int]], scanned_until: Any) -> int:
    """Note what a discovery scan saw — (kind, value, first, last, events) per address
    or host name — except what an asset claims; keep the list to the last
    ``ASSETS_DISCOVERY_DAYS`` days and ``ASSETS_DISCOVERY_MAX_ROWS`` rows (the least
    recently seen go first); move the scan's cursor. Returns the rows noted."""
    index = current()
    table = DiscoveredHost._meta.db_table
    rows = []
    for kind, value, first, last, count in seen:
        try:
            value = normalize.ip(value) if kind == "ip" else normalize.hostname(value)
        except ValueError:
            continue
        if index.of_entity(f"{kind}:{value}") is None:
            rows.append((kind, value, first, last, count))
    with transaction.atomic(), connection.cursor() as cursor:
        if rows:
            cursor.executemany(
                f"INSERT INTO {table} (kind, value, first_seen, last_seen, event_count)"  # noqa: S608
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kind, value) DO UPDATE SET"
                f" first_seen = LEAST(EXCLUDED.first_seen, {table}.first_seen),"
                f" last_seen = GREATEST(EXCLUDED.last_seen, {table}.last_seen),"
                f" event_count = {table}.event_count + EXCLUDED.event_count",
                rows,
            )
        since = timezone.now() - timedelta(days=settings.ASSETS_DISCOVERY_DAYS)
        DiscoveredHost.objects.filter(last_seen__lt=since).delete()
        keep = settings.ASSETS_DISCOVERY_MAX_ROWS
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table}"  # noqa: S608
            " ORDER BY last_seen DESC, id DESC OFFSET %s)",
            [keep],
        )
        DiscoveryCursor.objects.update_or_create(pk=1, defaults={"scanned_until": scanned_until})
    return len(rows)
