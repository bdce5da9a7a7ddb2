"""Enrichment on the ingest path: what socapp knows, added to each event as it is stored.

Enrichers are functions ``(record) -> None`` registered in order; ``enrich`` runs them on
every normalized record before it is written. They must be cheap (they run per event) and
must not query the database (the connection is busy with the batch's COPY by then): they
read process-local lookup tables, which ``prepare`` refreshes once per batch, before the
COPY starts. Asset lookup lives here; IOC matching registers itself the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

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


class _AssetTable:
    """IP address and host name -> asset id, re-read at most every REFRESH seconds."""

    REFRESH = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = 0.0
        self.by_ip: dict[str, Any] = {}
        self.by_host: dict[str, Any] = {}

    def fresh(self) -> _AssetTable:
        if time.monotonic() - self._loaded > self.REFRESH:
            with self._lock:
                if time.monotonic() - self._loaded > self.REFRESH:
                    self._load()
        return self

    def _load(self) -> None:
        from assets.selectors import asset_addresses

        rows = asset_addresses()
        self.by_ip = {ip: pk for pk, ip, _ in rows if ip}
        self.by_host = {host: pk for pk, _, host in rows if host}
        self._loaded = time.monotonic()

    def forget(self) -> None:
        with self._lock:
            self._loaded = 0.0


assets = _AssetTable()
PREPARERS.append(assets.fresh)


@register
def asset_of(record: EventRecord) -> None:
    """The asset the event is about: its host by name, else the destination, else the
    source address (inbound traffic is about our host; outbound from it)."""
    if record.asset_id is not None:
        return
    table = assets
    if not (table.by_ip or table.by_host):
        return
    host = record.normalized_data.get("host")
    name = host.get("name") or host.get("hostname") if isinstance(host, dict) else None
    if isinstance(name, str) and (found := table.by_host.get(name.lower())):
        record.asset_id = found
        return
    for address in (record.dest_ip, record.source_ip):
        if address and (found := table.by_ip.get(address)):
            record.asset_id = found
            return
