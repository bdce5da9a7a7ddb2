"""Template context for every page: the user's zone and the range the navigation carries."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.utils import timezone

from .timefmt import zone_label
from .timerange import remembered


def time_context(request: HttpRequest) -> dict[str, Any]:
    """``time_zone``: the zone's name for scripts (charts draw in it); ``time_zone_label``
    what people read (CET); ``nav_range``: "?range=1h" (or "") for the navigation's links to
    the queue, the search and the dashboard — the range last picked on one of them."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    query = remembered(request)
    return {
        "time_zone": timezone.get_current_timezone_name(),
        "time_zone_label": zone_label(timezone.localtime()),
        "nav_range": "?" + urlencode(query) if query else "",
    }
