"""Template helpers of the console."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.filter
def entity_url(value: str) -> str:
    """The page of an entity written "kind:value" ("ip:10.0.0.5" → /entities/ip/10.0.0.5/)."""
    kind, _, name = str(value).partition(":")
    try:
        if kind == "asset":
            return reverse("assets:detail", args=[name])
        return reverse(f"entities:{kind}", args=[name])
    except NoReverseMatch:
        return ""


@register.filter
def entity_text(value: str) -> str:
    """An entity as a person reads it: "asset:<id>" by the asset's name (the inventory
    map, in memory), anything else as written."""
    if not str(value).startswith("asset:"):
        return str(value)
    from assets.index import current

    ref = current().of_entity(str(value))
    return f"asset {ref.name}" if ref is not None else str(value)
