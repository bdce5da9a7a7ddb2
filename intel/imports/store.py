"""Writing what an importer collected: one transaction per import.

Each candidate is matched to the feed's existing IOC with the same (type, value), else
to one with the same external id (a MISP attribute or STIX indicator whose value the
publisher corrected keeps its row), else created. An existing IOC is updated only when
something the feed says about it changed (else it counts as unchanged), and a verdict
made here (false positive, allow-listed) is never overwritten by a feed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from socapp.audit import audit_record
from socapp.users import User

from ..choices import IocStatus
from ..indicator_set import indicators_changed
from ..models import IOC, ThreatIntel
from ..retrohunts import retro_hunt_request
from .base import Candidate, Collector

BATCH = 1000
# Verdicts made in socapp: a feed's re-import does not bring these indicators back.
KEPT_STATUSES = {IocStatus.FALSE_POSITIVE, IocStatus.ALLOWLISTED}
FEED_FIELDS = (
    "confidence_score", "tlp", "status", "expires_at", "first_seen", "last_seen",
    "description", "tags", "attack_techniques", "context", "external_id",
)  # fmt: skip


@dataclass
class ImportResult:
    feed: str
    format: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    skips: list[dict[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }

    def as_dict(self) -> dict[str, Any]:
        return {"feed": self.feed, "format": self.format, **self.counts(), "skips": self.skips}


def _chunks(items: list[Candidate]) -> Iterable[list[Candidate]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _wanted(candidate: Candidate, feed: ThreatIntel, existing: IOC | None) -> dict[str, Any]:
    """The field values the feed asks for (what it does not say keeps what is there)."""
    status = candidate.status
    if existing is not None and existing.status in KEPT_STATUSES:
        status = existing.status
    elif candidate.expires_at is not None and candidate.expires_at <= timezone.now():
        status = IocStatus.EXPIRED if status == IocStatus.ACTIVE else status
    confidence = candidate.confidence
    if confidence is None:
        confidence = existing.confidence_score if existing else feed.confidence_score
    return {
        "confidence_score": confidence,
        "tlp": candidate.tlp or (existing.tlp if existing else ""),
        "status": status,
        "expires_at": candidate.expires_at,
        "first_seen": candidate.first_seen or (existing.first_seen if existing else None),
        "last_seen": candidate.last_seen or (existing.last_seen if existing else None),
        "description": candidate.description or (existing.description if existing else ""),
        "tags": candidate.tags,
        "attack_techniques": candidate.attack_techniques,
        "context": candidate.context,
        "external_id": candidate.external_id or (existing.external_id if existing else ""),
    }


def _existing(feed: ThreatIntel, chunk: list[Candidate]) -> dict[tuple[str, str], IOC]:
    values = {candidate.value for candidate in chunk}
    return {
        (ioc.ioc_type, ioc.value): ioc
        for ioc in IOC.objects.filter(intel=feed, value__in=values).select_for_update()
    }


def _renamed(feed: ThreatIntel, candidates: dict[tuple[str, str], Candidate]) -> dict[str, IOC]:
    """Existing IOCs that a candidate's external id names but whose value is not in this
    import (the publisher changed the value): external id -> IOC."""
    ids = {c.external_id for c in candidates.values() if c.external_id}
    found: dict[str, IOC] = {}
    for start in range(0, len(ids), BATCH):
        batch = sorted(ids)[start : start + BATCH]
        for ioc in IOC.objects.filter(intel=feed, external_id__in=batch).select_for_update():
            if (ioc.ioc_type, ioc.value) not in candidates and ioc.external_id not in found:
                found[ioc.external_id] = ioc
    return found


def _take_renamed(renamed: dict[str, IOC], candidate: Candidate) -> IOC | None:
    ioc = renamed.get(candidate.external_id) if candidate.external_id else None
    if ioc is None or ioc.ioc_type != candidate.ioc_type:
        return None
    return renamed.pop(candidate.external_id)


def _reactivated(ioc: IOC) -> bool:
    """Active again after this import, inactive as it was read (intel.lifecycle notes
    the status every IOC is loaded with)."""
    before = getattr(ioc, "_status_at_load", None)
    return ioc.status == IocStatus.ACTIVE and before != IocStatus.ACTIVE


def store(*, actor: User | None, feed: ThreatIntel, collector: Collector, fmt: str,
          origin: str) -> ImportResult:  # fmt: skip
    """Write the collected candidates into ``feed`` (one transaction) and audit it."""
    result = ImportResult(feed=feed.source_name, format=fmt)
    now = timezone.now()
    arrived: list[Any] = []  # new or re-activated: the retro-hunt looks for these
    with transaction.atomic():
        renamed = _renamed(feed, collector.candidates)
        for chunk in _chunks(list(collector.candidates.values())):
            existing = _existing(feed, chunk)
            creates: list[IOC] = []
            updates: list[IOC] = []
            for candidate in chunk:
                ioc = existing.get((candidate.ioc_type, candidate.value))
                if ioc is None:
                    ioc = _take_renamed(renamed, candidate)
                wanted = _wanted(candidate, feed, ioc)
                if ioc is None:
                    creates.append(
                        IOC(
                            intel=feed,
                            ioc_type=candidate.ioc_type,
                            value=candidate.value,
                            created_at=now,
                            updated_at=now,
                            **wanted,
                        )
                    )
                elif ioc.value != candidate.value or any(
                    getattr(ioc, name) != value for name, value in wanted.items()
                ):
                    for name, value in wanted.items():
                        setattr(ioc, name, value)
                    ioc.value, ioc.updated_at = candidate.value, now
                    updates.append(ioc)
                else:
                    result.unchanged += 1
            arrived += [ioc.pk for ioc in creates if ioc.status == IocStatus.ACTIVE]
            arrived += [ioc.pk for ioc in updates if _reactivated(ioc)]
            IOC.objects.bulk_create(creates, batch_size=BATCH)
            IOC.objects.bulk_update(updates, [*FEED_FIELDS, "value", "updated_at"], BATCH)
            result.created += len(creates)
            result.updated += len(updates)
        # Bulk writes send no model signals: tell the matchers, and hunt the stored events.
        if result.created or result.updated:
            indicators_changed()
        retro_hunt_request(ioc_ids=arrived, actor=actor)
        result.skipped = collector.skipped
        result.skips = [skip.as_dict() for skip in collector.skips]
        audit_record(
            actor=actor,
            action="intel.import",
            target=feed,
            changes={"format": fmt, "origin": origin[:500], **result.counts()},
        )
    return result
