"""Reading threat intel."""

from __future__ import annotations

from .models import IOC


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


def active_indicator_count() -> int:
    """Indicators the matching index would load (before its cap)."""
    from .indicator_set import active_indicators

    return int(active_indicators().count())
