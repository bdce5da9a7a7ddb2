"""Reading assets. Analysts see their teams' assets and those of no team; roles with
``assets.view_all_assets`` (managers, admins, auditors, integrations) see every one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from socapp.models import Team

from . import normalize
from .models import Asset, AssetType, DiscoveredHost, DiscoveryCursor


def assets_visible_to(user: Any) -> QuerySet[Asset]:
    assets = Asset.objects.select_related("asset_type", "team")
    if user.is_superuser or user.has_perm("assets.view_all_assets"):
        return assets
    return assets.filter(Q(team__isnull=True) | Q(team__in=user.teams.values("pk")))


def asset_types_all() -> QuerySet[AssetType]:
    return AssetType.objects.all()


def asset_type_named(name: str) -> AssetType | None:
    return AssetType.objects.filter(name__iexact=name.strip()).first()


def assets_named(names: Iterable[str]) -> dict[str, Asset]:
    """Assets by lower-case name (the CSV import's one read of what exists)."""
    lowered = {n.lower() for n in names}
    if not lowered:
        return {}
    found = (
        Asset.objects.select_related("asset_type", "team")
        .annotate(lname=Lower("name"))
        .filter(lname__in=lowered)
    )
    return {a.name.lower(): a for a in found}


def _identifies(value: str) -> Q:
    """Assets one of whose addresses, names or MACs is ``value`` (or named it)."""
    q = Q(name__iexact=value)
    with contextlib.suppress(ValueError):
        q |= Q(ip_addresses__contains=[normalize.ip(value)])
    with contextlib.suppress(ValueError):
        q |= Q(hostnames__contains=[normalize.hostname(value)])
    with contextlib.suppress(ValueError):
        q |= Q(mac_addresses__contains=[normalize.mac(value)])
    return q


def asset_find(value: str) -> Asset | None:
    """An asset by name, host name, IP or MAC address (what a user types to link one)."""
    value = value.strip()[:300]
    return Asset.objects.filter(_identifies(value)).first() if value else None


def assets_matching(assets: QuerySet[Asset], value: str) -> QuerySet[Asset]:
    """The list page's "address or name" filter."""
    value = value.strip()[:300]
    return assets.filter(_identifies(value) | Q(name__icontains=value)) if value else assets


def assets_with_ids(ids: Iterable[str]) -> dict[str, Asset]:
    """Assets by id text (the alert and incident pages' assets, one query)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    found = Asset.objects.select_related("asset_type", "team").filter(pk__in=wanted)
    return {str(a.pk): a for a in found}


def asset_names_for(
    *, ips: Iterable[str], hosts: Iterable[str], ids: Iterable[str] = ()
) -> dict[str, str]:
    """Asset names by entity ("ip:10.0.0.5", "host:web1", "asset:<id>"), from the
    inventory map."""
    from .index import current

    index = current()
    found: dict[str, str] = {}
    wanted = [*(f"ip:{i}" for i in ips), *(f"host:{h}" for h in hosts)]
    for entity in [*wanted, *(f"asset:{i}" for i in ids)]:
        ref = index.of_entity(entity)
        if ref is not None:
            found[entity] = ref.name
    return found


class IndexRow(NamedTuple):
    id: Any
    name: str
    criticality: str
    owner: str
    team_id: Any
    team: str | None
    ips: list[str] | None
    hosts: list[str] | None
    macs: list[str] | None


def asset_index_rows() -> list[IndexRow]:
    """Every asset's identity and what alerts record of it, read by one plain query (the
    inventory map re-reads them all when the inventory changes; no model instances)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, a.name, a.criticality, a.owner, a.team_id, t.name,"  # noqa: S608
            " ARRAY(SELECT host(x) FROM unnest(a.ip_addresses) x),"
            " a.hostnames, a.mac_addresses"
            f" FROM {Asset._meta.db_table} a"
            f" LEFT JOIN {Team._meta.db_table} t"
            " ON t.id = a.team_id"
        )
        return [IndexRow(*row) for row in cursor.fetchall()]


def discovered_hosts(days: int | None = None) -> QuerySet[DiscoveredHost]:
    """Hosts seen in events within the last ``days`` that no asset claims."""
    days = days or settings.ASSETS_DISCOVERY_DAYS
    since = timezone.now() - timedelta(days=days)
    return DiscoveredHost.objects.filter(last_seen__gte=since)


def discovery_cursor() -> DiscoveryCursor | None:
    return DiscoveryCursor.objects.filter(pk=1).first()
