"""What the alert, incident and entity pages show beside the case: the assets it
concerns (name, criticality, owner, team) and the indicators its events matched."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from assets.index import current
from assets.selectors import assets_visible_to
from intel.selectors import ioc_matches_of_events
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
    valid = [i for i in ids if _is_uuid(i)][: MAX_SHOWN * 5]
    if not valid:
        return []
    found = assets_visible_to(user).filter(pk__in=valid)
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    return sorted(found, key=lambda a: (order.get(a.criticality, 9), a.name))[:MAX_SHOWN]


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def indicators_involved(keys: list[tuple[Any, Any]]) -> list[Any]:
    """The IOC matches recorded for these events (event id, event time)."""
    return ioc_matches_of_events(keys, limit=MAX_SHOWN * 2)
