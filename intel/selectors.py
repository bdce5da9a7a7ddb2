"""Reading threat intel."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from .models import IOC, IocMatch, IocSighting, ThreatIntel


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


def feeds_with_counts() -> QuerySet[ThreatIntel]:
    """Every feed with ``ioc_count``, the number of its indicators."""
    return ThreatIntel.objects.annotate(ioc_count=Count("iocs")).order_by("source_name")


def iocs_filtered(
    *, value: str = "", ioc_type: str = "", status: str = "", feed: Any = None
) -> QuerySet[IOC]:
    """Indicators whose value contains ``value`` (case-insensitive), of a type, a status
    and a feed when given; newest first. Unknown types and statuses select nothing."""
    iocs = IOC.objects.select_related("intel").order_by("-created_at")
    if value:
        iocs = iocs.filter(value__icontains=value)
    if ioc_type:
        iocs = iocs.filter(ioc_type=ioc_type)
    if status:
        iocs = iocs.filter(status=status)
    if feed is not None:
        iocs = iocs.filter(intel=feed)
    return iocs


def ioc_history(ioc: IOC, limit: int = 50) -> tuple[list[IocSighting], list[IocMatch]]:
    """An indicator's latest sightings (with who recorded them) and event matches."""
    sightings = list(ioc.sightings.select_related("by").order_by("-at")[:limit])
    matches = list(ioc.matches.order_by("-event_time")[:limit])
    return sightings, matches


def ioc_get(pk: Any) -> IOC | None:
    return IOC.objects.select_related("intel").filter(pk=pk).first()


def feed_get(pk: Any) -> ThreatIntel | None:
    return ThreatIntel.objects.filter(pk=pk).first()


def feeds_by_name() -> list[ThreatIntel]:
    """Every feed (its id and name only), by name: for choosing one."""
    return list(ThreatIntel.objects.order_by("source_name").only("pk", "source_name"))
