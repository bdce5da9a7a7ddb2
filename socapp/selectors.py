"""Reads of the floor's own models."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from .models import DEFAULT_TEAM, AuditEntry, SavedView, Team, UserPreference
from .saved_views import saved_view_pages
from .users import User


def audit_log() -> QuerySet[AuditEntry]:
    """The audit log, newest first: for holders of ``socapp.view_auditentry`` (auditors,
    SOC admins), which the page and the API check before they ask here."""
    return AuditEntry.objects.order_by("-seq")


def saved_views_for(user: User, page: str) -> QuerySet[SavedView]:
    """The user's own saved views of ``page`` and those others shared."""
    return (
        SavedView.objects.filter(page=page)
        .filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
    )


def saved_views_visible_to(user: User) -> QuerySet[SavedView]:
    """Every saved view ``user`` sees on the pages: of each page they may open (its
    registered permission), their own and those others shared."""
    pages = [page for page, spec in saved_view_pages().items() if user.has_perm(spec.permission)]
    return (
        SavedView.objects.filter(page__in=pages)
        .filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .order_by("page", "name", "id")
    )


def default_team_id() -> uuid.UUID | None:
    """The team that owns what has no team of its own (the SOC's queue)."""
    return Team.objects.filter(name=DEFAULT_TEAM).values_list("pk", flat=True).first()


def time_zone_name_of(user: User) -> str:
    """The user's time zone (UTC until they choose one)."""
    found = UserPreference.objects.filter(user=user).values_list("time_zone", flat=True).first()
    return found or "UTC"
