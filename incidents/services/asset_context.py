"""What the inventory says about a new alert: the assets it concerns, and its severity
raised by the most critical of them (the table in assets/choices.py, docs/ASSETS.md).

Applied to every new alert in ``alerts._raise``, a batch at a time: the inventory map is
fetched once per batch (one Redis read; one query only when the inventory changed), the
assets ingest tied the alerts' events to are read in one query, and each alert is
resolved from memory by those, its entities (IP, host name) and any MAC address its
details carry. (A brute force is grouped by the attacker's address; the host it hits is
known from its events.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from assets.choices import SEVERITY_RAISE
from assets.index import AssetRef, InventoryIndex, current
from events.selectors import EventLinks, event_links

from ..models import Alert, Severity
from .vuln_context import apply_vulnerability_context

EVENT_MARGIN = timedelta(hours=1)
MAX_ASSETS_NOTED = 5  # an alert about a whole subnet names its five most critical assets


def _macs(details: Mapping[str, Any]) -> list[str]:
    found = []
    for part in ("entities", "group_by"):
        fields = details.get(part)
        if not isinstance(fields, Mapping):
            continue
        for name, value in fields.items():
            if name.endswith(".mac") or name.lower() in ("mac", "macaddress"):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and len(item) <= 17:
                        found.append("mac:" + item.strip().lower().replace("-", ":"))
    return found


def _assets_of(alert: Alert, index: InventoryIndex, by_event: dict[str, str]) -> list[AssetRef]:
    of_events = {
        by_event[str(e)] for e in alert.details.get("event_ids") or [] if str(e) in by_event
    }
    return index.most_critical(
        [*alert.entities, *_macs(alert.details), *(f"asset:{a}" for a in sorted(of_events))]
    )


def _time_bounds(alerts: Sequence[Alert]) -> tuple[datetime, datetime]:
    """The time range holding every alert's events: its window, else its firing time,
    with a margin for detections whose firing time is the clock's, not the event's."""
    times: list[datetime] = []
    for alert in alerts:
        times.append(alert.triggered_at)
        for text in alert.details.get("window") or []:
            with contextlib.suppress(TypeError, ValueError):
                times.append(datetime.fromisoformat(text))
    return min(times) - EVENT_MARGIN, max(times) + EVENT_MARGIN


def _event_links(alerts: Sequence[Alert]) -> EventLinks:
    """The assets ingest tied the alerts' events to, and the CVEs the events name: one
    query for the whole batch."""
    ids = {str(e) for a in alerts for e in a.details.get("event_ids") or []}
    if not ids:
        return EventLinks({}, {})
    since, until = _time_bounds(alerts)
    return event_links(sorted(ids), since, until)


def _raised(severity: Severity, step: int, by_level: dict[int, Severity]) -> Severity:
    top = max(by_level)
    return by_level[min(top, severity.level + step)]


def apply_asset_context(alerts: Sequence[Alert], severities: Sequence[Severity]) -> None:
    """Note each alert's assets in its details and entities ("asset:<id>") and raise its
    severity by the most critical one; the original severity and the reason are kept in
    ``details["severity_raised"]`` for the alert page. Then an open vulnerability
    finding for a CVE the alert names raises it further (``vuln_context``)."""
    if not alerts:
        return
    index = current()
    if not index:
        return
    by_level = {s.level: s for s in severities}
    links = _event_links(alerts)
    assets: dict[Any, list[AssetRef]] = {}
    for alert in alerts:
        refs = _assets_of(alert, index, links.assets)
        if not refs:
            continue
        assets[alert.pk] = refs[:MAX_ASSETS_NOTED]
        alert.details["assets"] = [r.as_details() for r in refs[:MAX_ASSETS_NOTED]]
        alert.entities = [*alert.entities, *(f"asset:{r.id}" for r in refs[:MAX_ASSETS_NOTED])]
        lead = refs[0]
        step = SEVERITY_RAISE.get(lead.criticality, 0)
        if step <= 0 or not by_level:
            continue
        raised = _raised(alert.severity, step, by_level)
        if raised.level == alert.severity.level:
            continue
        alert.details["severity_raised"] = {
            "from": alert.severity.name,
            "to": raised.name,
            "by": raised.level - alert.severity.level,
            "asset": lead.name,
            "asset_id": lead.id,
            "criticality": lead.criticality,
            "reason": f"{lead.name} is a {lead.criticality} asset "
            f"(+{step} level{'s' if step > 1 else ''}, capped at the top severity)",
        }
        alert.severity = raised
    apply_vulnerability_context(alerts, assets, links.cves, severities)
