"""The severity colours as a stylesheet, so pages need no inline style (CSP).

Badges carry ``class="badge sev-<name>"``; this sheet gives each name its colour from
the severities table (admins may change them). The names are fixed choices and the
colours are validated ``#rrggbb``, so nothing else can reach the stylesheet.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..selectors import severities_all

# Browsers keep it this long; a colour changed in the admin shows within that time.
MAX_AGE_SECONDS = 300


@require_GET
def severity_stylesheet(request: HttpRequest) -> HttpResponse:
    rules = [f".sev-{s.name} {{ --sev: {s.color_code}; }}" for s in severities_all()]
    response = HttpResponse("\n".join(rules) + "\n", content_type="text/css; charset=utf-8")
    response["Cache-Control"] = f"private, max-age={MAX_AGE_SECONDS}"
    return response
