"""Reading threat intel."""

from __future__ import annotations

from typing import Any

from .models import IOC, IocMatch


def ioc_find(value: str) -> IOC | None:
    """An IOC by its value, as a user types it to link one."""
    return IOC.objects.filter(value=value.strip()).first()


def iocs_with_values(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], IOC]:
    """The IOC (the oldest, of any source) of each (type, value) that has one."""
    if not pairs:
        return {}
    values = {value for _, value in pairs}
    found: dict[tuple[str, str], IOC] = {}
    for ioc in IOC.objects.filter(value__in=values).order_by("-created_at"):
        if (ioc.ioc_type, ioc.value) in pairs:
            found[(ioc.ioc_type, ioc.value)] = ioc
    return found


def ioc_matches_of_events(keys: list[tuple[Any, Any]], limit: int = 50) -> list[IocMatch]:
    """The indicator matches recorded for the events ``keys`` ((event_id, event_time)
    pairs: the time bounds the scan), with their IOC and feed, newest first."""
    if not keys:
        return []
    times = [t for _, t in keys]
    return list(
        IocMatch.objects.select_related("ioc", "ioc__intel")
        .filter(
            event_id__in=[e for e, _ in keys],
            event_time__gte=min(times),
            event_time__lte=max(times),
        )
        .order_by("-event_time")[:limit]
    )


def active_indicator_count() -> int:
    """Indicators the matching index would load (before its cap)."""
    from .indicator_set import active_indicators

    return int(active_indicators().count())
