"""Enrichment on the ingest path: what socapp knows, added to each event as it is stored.

Enrichers are functions ``(record) -> None`` registered in order; ``enrich`` runs them on
every normalized record before it is written. They must be cheap (they run per event) and
must not query the database (the connection is busy with the batch's COPY by then): they
read process-local lookup tables, which ``prepare`` refreshes once per batch, before the
COPY starts. Asset lookup and geolocation live here; IOC matching registers itself the
same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from socapp.geoip import geoip

from .records import EventRecord

Enricher = Callable[[EventRecord], None]
ENRICHERS: list[Enricher] = []
PREPARERS: list[Callable[[], object]] = []


def register(enricher: Enricher) -> Enricher:
    if enricher not in ENRICHERS:
        ENRICHERS.append(enricher)
    return enricher


def prepare() -> None:
    """Refresh the lookup tables that are stale; call before a batch's COPY starts."""
    for preparer in PREPARERS:
        preparer()


def enrich(record: EventRecord) -> None:
    for enricher in ENRICHERS:
        enricher(record)


class _Assets:
    """The inventory map (``assets.index``) of the batch being stored: fetched once per
    batch by ``prepare`` (one Redis read; one query when the inventory changed), then
    read per event without touching the database."""

    def __init__(self) -> None:
        from assets.index import InventoryIndex

        self.index = InventoryIndex()

    def fresh(self) -> _Assets:
        from assets.index import current

        self.index = current()
        return self

    def forget(self) -> None:
        from assets.index import InventoryIndex, forget

        forget()
        self.index = InventoryIndex()


assets = _Assets()
PREPARERS.append(assets.fresh)


def _host_field(record: EventRecord, key: str) -> Any:
    host = record.normalized_data.get("host")
    return host.get(key) if isinstance(host, dict) else None


@register
def asset_of(record: EventRecord) -> None:
    """The asset the event is about: its host by name, then by MAC, else the
    destination, else the source address (inbound traffic is about our host; outbound
    from it)."""
    if record.asset_id is not None:
        return
    index = assets.index
    if not index:
        return
    name = _host_field(record, "name") or _host_field(record, "hostname")
    if isinstance(name, str) and (ref := index.by_host.get(name.lower().rstrip("."))):
        record.asset_id = uuid.UUID(ref.id)
        return
    macs = _host_field(record, "mac")
    for mac in macs if isinstance(macs, list) else [macs]:
        if isinstance(mac, str) and (ref := index.by_mac.get(mac.lower().replace("-", ":"))):
            record.asset_id = uuid.UUID(ref.id)
            return
    for address in (record.dest_ip, record.source_ip):
        if address and (ref := index.by_ip.get(address)):
            record.asset_id = uuid.UUID(ref.id)
            return


# Geolocation (docs/GEOIP.md): the databases are looked at once per batch (a stat at most
# every GEOIP_RECHECK_SECONDS); each address costs one cached lookup per process.
PREPARERS.append(geoip.refresh)
GEO_SIDES = ("source", "destination")


@register
def geolocation(record: EventRecord) -> None:
    """ECS ``geo`` and ``as`` of the source and destination addresses where they are
    public and the databases know them; what the sender already put there is kept."""
    if not geoip.on:
        return
    document = record.normalized_data
    for side, address in zip(GEO_SIDES, (record.source_ip, record.dest_ip), strict=True):
        place = geoip.lookup(address) if address else None
        if place is None:
            continue
        node = document.get(side)
        if type(node) is not dict:
            continue  # an address column comes from this object; it is there
        if "geo" not in node and (geo := place.geo()):
            node["geo"] = geo
        if "as" not in node and (autonomous := place.autonomous_system()):
            node["as"] = autonomous
