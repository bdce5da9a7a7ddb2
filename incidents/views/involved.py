"""What the alert, incident and entity pages show beside the case: the assets it
concerns (name, criticality, owner, team), the indicators its events matched, and where
its addresses are (geolocation, docs/GEOIP.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from assets.index import current
from assets.selectors import assets_visible_to
from intel.selectors import ioc_matches_of_events
from socapp.geoip import Place, geoip, is_public
from socapp.ids import is_uuid
from socapp.users import User

MAX_SHOWN = 20


def assets_involved(
    user: User, *, entities: Iterable[str], details: Iterable[Mapping[str, Any]] = ()
) -> list[Any]:
    """The assets behind ``entities`` (by the inventory as it is now) and those the
    alerts' details noted when raised, as far as ``user`` may see them, most critical
    first."""
    index = current()
    ids = {ref.id for ref in index.most_critical(entities)}
    for detail in details:
        ids.update(str(a.get("id")) for a in detail.get("assets") or [] if isinstance(a, dict))
    ids.update(e.split(":", 1)[1] for e in entities if e.startswith("asset:"))
    valid = [i for i in ids if is_uuid(i)][: MAX_SHOWN * 5]
    if not valid:
        return []
    found = assets_visible_to(user).filter(pk__in=valid)
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    return sorted(found, key=lambda a: (order.get(a.criticality, 9), a.name))[:MAX_SHOWN]


def indicators_involved(keys: list[tuple[Any, Any]]) -> list[Any]:
    """The IOC matches recorded for these events (event id, event time)."""
    return ioc_matches_of_events(keys, limit=MAX_SHOWN * 2)


@dataclass(frozen=True)
class Located:
    address: str
    public: bool
    place: Place | None


def places_involved(addresses: Iterable[Any]) -> dict[str, Any]:
    """Where the first ``MAX_SHOWN`` distinct addresses are, by the databases as they are
    now (a cached lookup each), or why that cannot be said."""
    if off := geoip.why_off():
        return {"on": False, "message": off, "rows": []}
    rows: list[Located] = []
    seen: set[str] = set()
    for address in addresses:
        text = str(address or "")
        if not text or text in seen:
            continue
        seen.add(text)
        rows.append(Located(text, is_public(text), geoip.lookup(text)))
        if len(rows) >= MAX_SHOWN:
            break
    return {"on": True, "message": "", "rows": rows}


def entity_addresses(entities: Iterable[str]) -> list[str]:
    """The addresses among alert entities ("ip:203.0.113.7")."""
    return [e.split(":", 1)[1] for e in entities if e.startswith("ip:")]
