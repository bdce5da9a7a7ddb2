"""An indicator's life after import: confidence that decays with age, expiry, sightings,
a false-positive verdict, and the retro-hunt its arrival asks for.

- ``score``: confidence * 0.5 ** (age / half-life of its type), age counted from the
  feed's last sighting of it (else first sighting, else its creation);
- ``expire_indicators`` (beat): active indicators past ``expires_at`` become expired,
  with an ``expired`` sighting (they stopped matching at expiry already);
- ``ioc_false_positive``: a false-positive verdict on an alert it raised records a
  sighting and retires it, or halves its confidence (INTEL_FALSE_POSITIVE_ACTION);
- ``record_seen``: what correlation learnt from matches (counts, a ``seen`` sighting per
  alert raised);
- new and re-activated indicators ask for a retro-hunt (``retro_hunt_request``), once per
  transaction whatever the number of indicators saved in it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver
from django.utils import timezone

from socapp.audit import audit_record
from socapp.users import User

from .choices import IocStatus, SightingKind
from .indicator_set import indicators_changed
from .matcher import Indicator, Match, decayed
from .models import IOC, IocSighting, ThreatIntel
from .retrohunts import retro_hunt_request

logger = logging.getLogger(__name__)

EXPIRE_CHUNK = 1000


def half_life_days(ioc_type: str) -> float:
    table = settings.INTEL_HALF_LIFE_DAYS
    return float(table.get(ioc_type, 0) or 0) if isinstance(table, dict) else 0.0


def score(item: Indicator, now: float | None = None) -> float:
    """The indicator's confidence decayed by its age (0..1, three decimals)."""
    now = time.time() if now is None else now
    return round(decayed(item.confidence, now - item.since, half_life_days(item.ioc_type)), 3)


def enrichment(match: Match, now: float, matched_type: str) -> dict[str, Any]:
    """An ECS ``threat.enrichments`` item for a match (``indicator.id``, ``value``,
    ``feed_id``, ``score`` are socapp's additions), as ingest and retro-hunts write it and
    the IOC-match rules read it."""
    item = match.indicator
    return {
        "indicator": {
            "id": item.id,
            "type": item.ioc_type,
            "value": item.value,
            "provider": item.feed,
            "feed_id": item.feed_id,
            "confidence": item.confidence,
            "score": score(item, now),
            "marking": {"tlp": item.tlp},
        },
        "matched": {
            "atomic": match.value,
            "field": match.field,
            "id": item.id,
            "type": matched_type,
        },
    }


# ---- expiry ------------------------------------------------------------------------------


def expire_indicators(*, now: datetime | None = None) -> int:
    """Mark active indicators past their expiry as expired, each with an ``expired``
    sighting; returns how many. Chunked: each chunk is its own transaction."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                IOC.objects.select_for_update(skip_locked=True)
                .filter(status=IocStatus.ACTIVE, expires_at__lte=now)
                .values_list("id", flat=True)[:EXPIRE_CHUNK]
            )
            if not ids:
                return total
            IOC.objects.filter(pk__in=ids).update(status=IocStatus.EXPIRED, updated_at=now)
            IocSighting.objects.bulk_create(
                [
                    IocSighting(ioc_id=pk, kind=SightingKind.EXPIRED, note="expires_at passed")
                    for pk in ids
                ]
            )
            indicators_changed()
        total += len(ids)


# ---- matches -----------------------------------------------------------------------------

# Only indicators that still exist (one deleted since the index was built is passed over,
# not a failed batch); a (indicator, event, field) already recorded is not recorded again.
_INSERT_MATCHES = """
INSERT INTO ioc_matches (ioc_id, event_id, event_time, field, matched_at, retro_hunt)
SELECT m.ioc_id, m.event_id, m.event_time, m.field, now(), %s
FROM unnest(%s::uuid[], %s::uuid[], %s::timestamptz[], %s::text[])
    AS m(ioc_id, event_id, event_time, field)
JOIN iocs ON iocs.id = m.ioc_id
ON CONFLICT (ioc_id, event_id, field) DO NOTHING
RETURNING ioc_id::text, event_id::text, field
"""
MATCH_CHUNK = 5000


def record_matches(
    rows: Sequence[tuple[Any, Any, datetime, str]], *, retro_hunt: bool = False
) -> set[tuple[str, str, str]]:
    """Store (IOC id, event id, event time, field) matches, idempotently; returns the
    (IOC id, event id, field) of those stored now (not before)."""
    stored: set[tuple[str, str, str]] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), MATCH_CHUNK):
            chunk = rows[start : start + MATCH_CHUNK]
            cursor.execute(
                _INSERT_MATCHES,
                [
                    retro_hunt,
                    [str(r[0]) for r in chunk],
                    [str(r[1]) for r in chunk],
                    [r[2] for r in chunk],
                    [r[3] for r in chunk],
                ],
            )
            stored.update((a, b, c) for a, b, c in cursor.fetchall())
    return stored


# ---- verdicts and sightings --------------------------------------------------------------


def ioc_false_positive(*, actor: User | None, ioc_id: Any, reference: str, note: str = "") -> IOC:
    """A false-positive verdict (an IOC-match alert closed as one): a sighting, then the
    indicator retired (status false_positive) or its confidence halved, audited."""
    action = str(settings.INTEL_FALSE_POSITIVE_ACTION)  # checked when settings load
    with transaction.atomic():
        ioc = IOC.objects.select_for_update().get(pk=ioc_id)
        IocSighting.objects.create(
            ioc=ioc,
            kind=SightingKind.FALSE_POSITIVE,
            by=actor,
            note=note[:2000],
            reference=reference[:255],
        )
        before = {"status": ioc.status, "confidence": ioc.confidence_score}
        if action == "retire":
            ioc.status = IocStatus.FALSE_POSITIVE
        else:
            ioc.confidence_score = round(ioc.confidence_score / 2, 4)
        ioc.save(update_fields=["status", "confidence_score", "updated_at"])
        audit_record(
            actor=actor,
            action="ioc.false_positive",
            target=ioc,
            changes={
                "status": [before["status"], ioc.status],
                "confidence": [before["confidence"], ioc.confidence_score],
                "reference": reference,
            },
        )
    return ioc


def record_seen(
    *, seen: dict[str, tuple[int, datetime]], alerts: Sequence[tuple[str, str]] = ()
) -> None:
    """Matches correlation has handled: ``seen`` maps indicator id -> (matches, newest
    event time); ``alerts`` lists (indicator id, alert id) of the alerts newly raised,
    each recorded as a ``seen`` sighting. No version bump: sightings change no match."""
    for ioc_id, (count, newest) in seen.items():
        IOC.objects.filter(pk=ioc_id).update(
            sighting_count=F("sighting_count") + count,
            # PostgreSQL's GREATEST passes over NULL: the first sighting sets it
            last_sighted_at=Greatest(F("last_sighted_at"), newest),
        )
    IocSighting.objects.bulk_create(
        [
            IocSighting(ioc_id=ioc_id, kind=SightingKind.SEEN, reference=f"alert {alert_id}")
            for ioc_id, alert_id in alerts
        ]
    )


# ---- signals: every change of the set bumps its version; arrivals ask for a hunt -------------


_pending = threading.local()


def _hunt_later(ioc_id: Any) -> None:
    """Collect this transaction's arrivals; the first commit callback hunts for all of
    them (the later ones find nothing left). Ids of a rolled-back transaction may still
    be listed: the flush keeps only indicators that exist."""
    ids: list[Any] | None = getattr(_pending, "ids", None)
    if ids is None:
        ids = _pending.ids = []
    ids.append(ioc_id)
    transaction.on_commit(_flush_hunts)


def _flush_hunts() -> None:
    collected: list[Any] = getattr(_pending, "ids", None) or []
    _pending.ids = None
    if not collected:
        return
    with transaction.atomic():
        existing = IOC.objects.filter(pk__in=collected, status=IocStatus.ACTIVE)
        retro_hunt_request(ioc_ids=existing.values_list("id", flat=True))


@receiver(post_init, sender=IOC)
def _remember_status(sender: Any, instance: IOC, **kwargs: Any) -> None:
    instance._status_at_load = instance.__dict__.get("status")  # type: ignore[attr-defined]


@receiver(post_save, sender=IOC)
def _ioc_saved(sender: Any, instance: IOC, created: bool, raw: bool = False, **kw: Any) -> None:
    if raw:
        return
    indicators_changed()
    was = getattr(instance, "_status_at_load", None)
    arrived = created or (instance.status == IocStatus.ACTIVE and was != IocStatus.ACTIVE)
    instance._status_at_load = instance.status  # type: ignore[attr-defined]
    if arrived and instance.status == IocStatus.ACTIVE:
        _hunt_later(instance.pk)


@receiver(post_delete, sender=IOC)
@receiver(post_save, sender=ThreatIntel)
@receiver(post_delete, sender=ThreatIntel)
def _set_changed(sender: Any, **kwargs: Any) -> None:
    indicators_changed()
