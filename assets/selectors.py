"""Reading assets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Lower

from .models import Asset


def asset_names_for(*, ips: Iterable[str], hosts: Iterable[str]) -> dict[str, str]:
    """Asset names by entity ("ip:10.0.0.5", "host:web1") for the given addresses and
    (lower-case) host names, in one query."""
    ips, hosts = set(ips), set(hosts)
    if not ips and not hosts:
        return {}
    rows = (
        Asset.objects.annotate(host=Lower("hostname"))
        .filter(Q(ip_address__in=ips) | Q(host__in=hosts))
        .values_list("name", "ip_address", "host")
    )
    found: dict[str, str] = {}
    for name, ip, host in rows:
        if ip in ips:
            found[f"ip:{ip}"] = name
        if host in hosts:
            found[f"host:{host}"] = name
    return found


def asset_find(value: str) -> Asset | None:
    """An asset by name, host name or IP address (what a user types to link one)."""
    import contextlib
    import ipaddress

    value = value.strip()
    q = Q(name__iexact=value) | Q(hostname__iexact=value)
    with contextlib.suppress(ValueError):
        q |= Q(ip_address=str(ipaddress.ip_address(value)))
    return Asset.objects.filter(q).first()


def assets_for_entity(kind: str, value: str) -> list[Asset]:
    """The assets an IP address or a host name belongs to (none for a user)."""
    assets = Asset.objects.select_related("asset_type", "team")
    if kind == "ip":
        return list(assets.filter(ip_address=value))
    if kind == "host":
        return list(assets.filter(Q(hostname__iexact=value) | Q(name__iexact=value)))
    return []


def asset_addresses() -> list[tuple[Any, str | None, str | None]]:
    """Every asset as (id, IP address as text, lower-case host name), read by one plain
    query: the enrichment lookup table re-reads them all every minute, on the ingest path,
    so no model instances are built."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, host(ip_address), lower(hostname) FROM {Asset._meta.db_table}"  # noqa: S608
        )
        rows: list[tuple[Any, str | None, str | None]] = cursor.fetchall()
        return rows
