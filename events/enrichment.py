"""Enrichment on the ingest path: what socapp knows, added to each event as it is stored.

Enrichers are functions ``(record) -> None`` registered in order; ``enrich`` runs them on
every normalized record before it is written. They must be cheap (they run per event) and
must not query the database (the connection is busy with the batch's COPY by then): they
read process-local lookup tables, which ``prepare`` refreshes once per batch, before the
COPY starts. Asset lookup, geolocation and indicator matching live here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from intel.indicator_set import indicator_set
from intel.lifecycle import enrichment
from intel.matcher import IndicatorIndex
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


# ---- indicators -----------------------------------------------------------------------


class _MatchBounds:
    """The per-event bounds, read from settings once per batch (not per event)."""

    max_values = 64
    max_hits = 16
    index = IndicatorIndex()  # the index of the batch being enriched

    def fresh(self) -> None:
        self.max_values = int(settings.INTEL_MATCH_MAX_VALUES_PER_EVENT)
        self.max_hits = int(settings.INTEL_MATCH_MAX_HITS_PER_EVENT)
        self.index = indicator_set.fresh()


def batch_stored(first: datetime | None, last: datetime | None) -> None:
    """In a batch's transaction, once its events are written (event times ``first`` to
    ``last``): after commit, tell the indicator set which index matched them, so that
    indicators a newer index adds are searched for in them (``IndicatorSet.batch_matched``)."""
    if first is None or last is None:
        return
    used = match_bounds.index
    transaction.on_commit(lambda: indicator_set.batch_matched(used, first, last))


match_bounds = _MatchBounds()
PREPARERS.append(match_bounds.fresh)
MATCHED_BY_INGEST = "indicator_match_rule"


@register
def indicators_of(record: EventRecord) -> None:
    """The active indicators the event carries, from the index ``prepare`` took for the
    batch (this process's, rebuilt once per change of the set): kept on the record
    (stored as IocMatch rows with the event) and written into the document as ECS
    ``threat.enrichments``, which the IOC-match rule selects on. A sender's own
    ``threat.enrichments`` is moved aside first, so no event can forge a match."""
    doc = record.normalized_data
    threat = doc.get("threat")
    if threat is not None and (type(threat) is not dict or "enrichments" in threat):
        _set_aside(doc, threat)
    index = match_bounds.index
    if not index.size:
        return
    now = time.time()
    matches = index.match(
        doc, now=now, max_values=match_bounds.max_values, max_hits=match_bounds.max_hits
    )
    if not matches:
        return
    record.ioc_matches = [(m.indicator.id, m.field) for m in matches]
    enrichments = [enrichment(m, now, MATCHED_BY_INGEST) for m in matches]
    threat = doc.get("threat")
    if type(threat) is not dict:
        threat = doc["threat"] = {}
    threat["enrichments"] = enrichments


def _set_aside(doc: dict[str, Any], threat: Any) -> None:
    """Keep what the sender claimed under ``socapp.sender_threat``; only socapp writes
    ``threat.enrichments``."""
    notes = doc.get("socapp")
    if type(notes) is not dict:
        notes = doc["socapp"] = {} if notes is None else {"original": notes}
    if type(threat) is dict:
        notes["sender_threat_enrichments"] = threat.pop("enrichments")
    else:
        notes["sender_threat"] = doc.pop("threat")
