"""Content negotiation for views where ``?format=`` names an uploaded file's format."""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation


class JsonOnly(DefaultContentNegotiation):
    """JSON, whatever ``?format=`` says: here it names the file's format, not the
    answer's (DRF would read it as a renderer and answer 404)."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        renderer = renderers[0]
        return renderer, renderer.media_type
