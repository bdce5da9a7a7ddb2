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
