"""Reads of the floor's own models."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from .models import SavedView


def saved_views_for(user: Any, page: str) -> QuerySet[SavedView]:
    """The user's own saved views of ``page`` and those others shared."""
    return (
        SavedView.objects.filter(page=page)
        .filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
    )
