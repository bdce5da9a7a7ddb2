"""Retro-hunts: stored events searched for indicators that arrived after them.

A hunt (``intel.models.RetroHunt``, asked for when indicators are created or re-activated,
``intel.lifecycle``) reads the events of its range oldest first, one slice of
RETRO_HUNT_SLICE_HOURS of event time at a time, RETRO_HUNT_CHUNK events at a time, and
matches each against an index of just its indicators (the same matching as ingest). Each
slice is one transaction: its new matches (IocMatch, ``retro_hunt``), the alerts the
IOC-match rules raise for them, and the hunt's progress (``searched_until``), so a hunt
that dies resumes at the slice it was in and a replayed slice finds its matches already
recorded and raises nothing twice. Only matched events are kept in memory, and only until
the end of their chunk. Alerts are marked "retro-hunt" and carry the event's own time.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from events.selectors import stored_events_matching
from intel.indicator_set import build_index
from intel.lifecycle import enrichment, record_matches
from intel.matcher import IndicatorIndex
from intel.retrohunts import (
    retro_hunt_finish,
    retro_hunt_get,
    retro_hunt_indicator_ids,
    retro_hunt_progress,
    retro_hunt_start,
)
from socapp.kv import kv

from ..engine.correlate import correlate_events
from ..engine.evaluate import StoredEvent
from ..engine.indicators import RETRO_HUNT
from ..engine.recorder import Raised
from ..engine.ruleset import RuleSet, active_ruleset

if TYPE_CHECKING:
    from intel.models import RetroHunt

logger = logging.getLogger(__name__)

LOCK_SECONDS = 600  # a worker holds a hunt this long past its last slice


def retro_hunt_run(*, hunt_id: uuid.UUID | str) -> RetroHunt | None:
    """Run (or resume) a hunt; None when another worker has it."""
    lock = f"socapp:retro-hunt:{hunt_id}"
    if not kv().set(lock, "1", nx=True, ex=LOCK_SECONDS):
        return None
    try:
        hunt = retro_hunt_get(hunt_id)
        if hunt is None or hunt.finished_at is not None:
            return hunt
        try:
            _run(hunt, lock)
        except Exception as exc:
            logger.exception("retro-hunt %s failed", hunt_id)
            retro_hunt_finish(hunt, error=f"{type(exc).__name__}: {exc}")
        return hunt
    finally:
        kv().delete(lock)


def _run(hunt: RetroHunt, lock: str) -> None:
    index, _ = build_index(only=retro_hunt_indicator_ids(hunt))
    ruleset = _ioc_rules()
    retro_hunt_start(hunt)
    step = timedelta(hours=max(1, int(settings.RETRO_HUNT_SLICE_HOURS)))
    start = hunt.searched_until or hunt.range_start
    while start < hunt.range_end and len(index):
        end = min(start + step, hunt.range_end)
        with transaction.atomic():
            scanned, matched, raised = _slice(index, ruleset, start, end)
            retro_hunt_progress(hunt, until=end, scanned=scanned, matched=matched, alerts=raised)
        kv().expire(lock, LOCK_SECONDS)
        start = end
    retro_hunt_finish(hunt)
    logger.info(
        "retro-hunt %s: %d events, %d matches, %d alerts",
        hunt.pk, hunt.events_scanned, hunt.matches, hunt.alerts,
    )  # fmt: skip


def _ioc_rules() -> RuleSet:
    """The active IOC-match rules only: a hunt raises their alerts, not other rules'."""
    active = active_ruleset()
    return RuleSet([r for r in active.rules.values() if r.ioc_match], active.generation)


def _slice(
    index: IndicatorIndex, ruleset: RuleSet, start: datetime, end: datetime
) -> tuple[int, int, int]:
    """Events of [start, end): (scanned, new matches, alerts raised)."""
    chunk_size = int(settings.RETRO_HUNT_CHUNK)
    rows = stored_events_matching(start, end, "event_time < %s", [end], chunk_size)
    scanned = matched = raised = 0
    pending: list[tuple[Any, ...]] = []
    for row in rows:
        scanned += 1
        pending.append(row)
        if len(pending) >= chunk_size:
            found, alerts = _chunk(index, ruleset, pending)
            matched, raised, pending = matched + found, raised + alerts, []
    if pending:
        found, alerts = _chunk(index, ruleset, pending)
        matched, raised = matched + found, raised + alerts
    return scanned, matched, raised


def _chunk(index: IndicatorIndex, ruleset: RuleSet, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
    now = time.time()
    bounds = {
        "max_values": int(settings.INTEL_MATCH_MAX_VALUES_PER_EVENT),
        "max_hits": int(settings.INTEL_MATCH_MAX_HITS_PER_EVENT),
    }
    hits = []
    for event_id, event_time, source_id, doc, raw in rows:
        if not isinstance(doc, dict):
            continue
        matches = index.match(doc, now=now, **bounds)
        if matches:
            event = StoredEvent(str(event_id), event_time, source_id, doc, raw or "")
            hits.append((event, matches))
    if not hits:
        return 0, 0
    new = record_matches(
        [(m.indicator.id, e.event_id, e.event_time, m.field) for e, ms in hits for m in ms],
        retro_hunt=True,
    )
    events = []
    for event, matches in hits:
        fresh = [m for m in matches if (m.indicator.id, event.event_id, m.field) in new]
        if fresh:  # a replayed slice: its matches were recorded, its alerts raised
            threat = event.doc.get("threat")
            threat = dict(threat) if isinstance(threat, dict) else {}
            threat["enrichments"] = [enrichment(m, now, RETRO_HUNT) for m in fresh]
            event.doc = {**event.doc, "threat": threat}
            events.append(event)
    raised = Raised()
    if events and len(ruleset):
        correlate_events(events, ruleset, raised=raised)
    return len(new), sum(1 for _, _, created in raised.items if created)
