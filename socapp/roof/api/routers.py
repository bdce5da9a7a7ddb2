"""One router for all of /api/v1/, filled from each app's ``api/urls.py`` ``routes``."""

from __future__ import annotations

from importlib import import_module

from rest_framework import routers

from socapp.permissions import IsAuthenticatedWithRole

API_APPS = ("socapp", "assets", "intel", "events", "incidents", "correlation")


class ApiRootView(routers.APIRootView):
    """socapp REST API, version 1. Every endpoint needs a role; see /api/docs/."""

    permission_classes = [IsAuthenticatedWithRole]
    schema = None


class SocRouter(routers.DefaultRouter):
    APIRootView = ApiRootView
    # No `.json` URL suffixes: the API renders JSON only, and the @action routes take no
    # `format` argument (a suffix on one was a 500). `/alerts.json` is a plain 404.
    include_format_suffixes = False


def build_router() -> SocRouter:
    router = SocRouter()
    for app in API_APPS:
        for prefix, viewset, basename in import_module(f"{app}.api.urls").routes:
            router.register(prefix, viewset, basename=basename)
    return router
