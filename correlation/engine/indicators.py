"""IOC-match rules: what the engine reads of an event's indicator matches, and the
severity a match raises.

Ingest matches every event against the active indicators and writes each hit into the
event as an ECS ``threat.enrichments`` item (events.enrichment; senders cannot forge
them: theirs are moved aside), with the indicator's score (its confidence decayed by
age) at that moment. A rule with ``socapp: {ioc_match: true}`` (the default pack's
"Event matched a threat-intel indicator") selects those events; its hit raises one alert
per indicator the event carries, suppressed per (indicator, host), with the severity of
the indicator's score:

    score >= 0.75  high
    score >= 0.40  medium
    score >= INTEL_ALERT_FLOOR (0.2)  low
    below the floor: the match is recorded, no alert

The asset's criticality is applied on the alert's normal severity path, after this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from events.fields import get

from ..choices import SeverityName

LEVELS = ((0.75, SeverityName.HIGH), (0.40, SeverityName.MEDIUM))
RETRO_HUNT = "retro_hunt"  # matched.type of a match found by a retro-hunt
MAX_ALERTS_PER_EVENT = 16  # as many as ingest keeps per event (INTEL_MATCH_MAX_HITS_PER_EVENT)


@dataclass(frozen=True)
class IocHit:
    indicator: dict[str, Any]
    field: str
    value: str
    score: float
    retro_hunt: bool

    @property
    def ioc_id(self) -> str:
        return str(self.indicator["id"])


def level_of(score: float) -> str:
    for threshold, level in LEVELS:
        if score >= threshold:
            return str(level)
    return str(SeverityName.LOW)


def alerting_hits(doc: dict[str, Any]) -> list[IocHit]:
    """The event's indicator matches at or above INTEL_ALERT_FLOOR, one per indicator
    (the first field that carried it), at most MAX_ALERTS_PER_EVENT."""
    floor = float(settings.INTEL_ALERT_FLOOR)
    threat = doc.get("threat")
    items = threat.get("enrichments") if isinstance(threat, dict) else None
    if not isinstance(items, list):
        return []
    hits: dict[str, IocHit] = {}
    for item in items[:MAX_ALERTS_PER_EVENT]:
        hit = _hit(item)
        if hit is not None and hit.score >= floor and hit.ioc_id not in hits:
            hits[hit.ioc_id] = hit
    return list(hits.values())


def _hit(item: Any) -> IocHit | None:
    if not isinstance(item, dict):
        return None
    indicator, matched = item.get("indicator"), item.get("matched")
    if not isinstance(indicator, dict) or not isinstance(matched, dict) or not indicator.get("id"):
        return None
    raw_score = indicator.get("score")
    score = float(raw_score) if isinstance(raw_score, int | float) else 0.0
    shown = {
        "id": str(indicator["id"]),
        "type": str(indicator.get("type") or ""),
        "value": str(indicator.get("value") or "")[:2048],
        "feed": str(indicator.get("provider") or ""),
        "feed_id": str(indicator.get("feed_id") or ""),
        "confidence": indicator.get("confidence"),
        "score": score,
        "tlp": str(get(indicator, "marking.tlp") or ""),
    }
    return IocHit(
        indicator=shown,
        field=str(matched.get("field") or ""),
        value=str(matched.get("atomic") or "")[:2048],
        score=score,
        retro_hunt=matched.get("type") == RETRO_HUNT,
    )


def host_of(doc: dict[str, Any], hit: IocHit) -> str:
    """The host a match concerns, for suppression: the event's host by name, else the
    address on the side of the connection that is not the indicator."""
    for name in ("host.name", "host.hostname", "Computer", "Hostname"):
        value = doc.get(name) if "." not in name else get(doc, name)
        if isinstance(value, str) and value:
            return value.lower()
    for name in ("source.ip", "destination.ip"):
        value = get(doc, name)
        if isinstance(value, str) and value and value != hit.value:
            return value
    return ""
