"""``{{ moment|when }}``: a ``<time>`` element with the moment in ISO 8601 (UTC) for
machines and in the user's zone, zone shown, for people; ``|when:"minutes"`` leaves out
the seconds. ``|when_text`` is the same text alone, for attributes such as ``title``.
Loaded for every template (TEMPLATES' builtins)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from socapp.timefmt import when_text as _when_text

register = template.Library()


@register.filter
def when(value: Any, precision: str = "seconds") -> SafeString | str:
    if not isinstance(value, datetime):
        return ""
    machine = value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    shown = _when_text(value, seconds=precision != "minutes")
    return format_html('<time datetime="{}">{}</time>', machine, shown)


@register.filter
def when_text(value: Any, precision: str = "seconds") -> str:
    if not isinstance(value, datetime):
        return ""
    return _when_text(value, seconds=precision != "minutes")
