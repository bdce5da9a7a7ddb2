"""The inventory as an in-process map: address, host name or MAC -> the asset.

Ingest enriches every event from it and case work raises every new alert's severity from
it, so it is read per event and never queried per event. It is rebuilt (one query) when
the inventory's version stamp in Redis has changed: every write to an asset sets a new
stamp (``inventory_changed``), immediately and again when its transaction commits, so a
process that rebuilt from the uncommitted state between the two rebuilds once more.
Without Redis the map is rebuilt every ``MAX_AGE`` seconds instead.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis
from django.db import transaction

from socapp.kv import kv, text

from .choices import RANK

log = logging.getLogger(__name__)

VERSION_KEY = "assets:inventory-version"
MAX_AGE = 60.0  # seconds a map is trusted when the stamp cannot be read


@dataclass(frozen=True)
class AssetRef:
    """What an event or alert records of its asset, and what the pages show."""

    id: str
    name: str
    criticality: str
    owner: str
    team_id: Any
    team: str

    def as_details(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "criticality": self.criticality,
            "owner": self.owner,
            "team": self.team,
        }


@dataclass
class InventoryIndex:
    by_ip: dict[str, AssetRef] = field(default_factory=dict)
    by_host: dict[str, AssetRef] = field(default_factory=dict)
    by_mac: dict[str, AssetRef] = field(default_factory=dict)
    by_id: dict[str, AssetRef] = field(default_factory=dict)
    version: str | None = None
    loaded: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.by_ip or self.by_host or self.by_mac)

    def of_entity(self, entity: str) -> AssetRef | None:
        """The asset behind an alert entity ("ip:10.0.0.5", "host:web1")."""
        kind, _, value = entity.partition(":")
        table = {
            "ip": self.by_ip,
            "host": self.by_host,
            "mac": self.by_mac,
            "asset": self.by_id,
        }.get(kind)
        return table.get(value) if table is not None else None

    def most_critical(self, entities: Iterable[str]) -> list[AssetRef]:
        """The distinct assets behind ``entities``, the most critical first."""
        found: dict[str, AssetRef] = {}
        for entity in entities:
            ref = self.of_entity(entity)
            if ref is not None:
                found.setdefault(ref.id, ref)
        return sorted(found.values(), key=lambda r: (-RANK.get(r.criticality, 0), r.name))


_lock = threading.Lock()
_index = InventoryIndex()


def _stamp() -> str | bool | None:
    """The current version stamp; None when none is set; False when Redis cannot say."""
    try:
        value = kv().get(VERSION_KEY)
    except redis.RedisError:
        log.warning("assets: the inventory version cannot be read; rebuilding by age")
        return False
    return text(value) if value is not None else None


def _build(version: str | None) -> InventoryIndex:
    from .selectors import asset_index_rows

    index = InventoryIndex(version=version, loaded=time.monotonic())
    for row in asset_index_rows():
        ref = AssetRef(
            id=str(row.id),
            name=row.name,
            criticality=row.criticality,
            owner=row.owner,
            team_id=row.team_id,
            team=row.team or "",
        )
        index.by_id[ref.id] = ref
        # A value two assets claim goes to the more critical one (then the first by name).
        for table, values in (
            (index.by_ip, row.ips),
            (index.by_host, row.hosts),
            (index.by_mac, row.macs),
        ):
            for value in values or ():
                held = table.get(value)
                if held is None or RANK[ref.criticality] > RANK[held.criticality]:
                    table[value] = ref
    return index


def current() -> InventoryIndex:
    """The map, rebuilt first if the inventory changed since it was built (one Redis
    GET per call: call it once per batch, not per event)."""
    global _index
    stamp = _stamp()
    index = _index
    if stamp is False:
        stale = time.monotonic() - index.loaded > MAX_AGE
    else:
        stale = index.loaded == 0.0 or stamp != index.version
    if stale:
        with _lock:
            if _index is index:  # not rebuilt by another thread meanwhile
                _index = _build(stamp if isinstance(stamp, str) else None)
            index = _index
    return index


def forget() -> None:
    """Drop the map (tests: the inventory of a rolled-back test is gone)."""
    global _index
    with _lock:
        _index = InventoryIndex()


def _bump() -> None:
    try:
        kv().set(VERSION_KEY, uuid.uuid4().hex)
    except redis.RedisError:
        log.warning("assets: the inventory version cannot be set; maps refresh by age")


def inventory_changed() -> None:
    """Every process's map is out of date: now, and once more when the change commits."""
    _bump()
    transaction.on_commit(_bump)
