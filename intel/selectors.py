"""Reading threat intel."""

from __future__ import annotations

from .models import IOC


def ioc_find(value: str) -> IOC | None:
    """An IOC by its value, as a user types it to link one."""
    return IOC.objects.filter(value=value.strip()).first()
