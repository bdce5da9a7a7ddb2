"""Services of the floor: personal API tokens, saved views, a user's own preferences."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .audit import audit_record
from .models import ApiToken, SavedView, UserPreference
from .timezones import is_time_zone
from .tokens import PERSONAL_PREFIX, token_generate
from .users import User

MAX_TOKEN_DAYS = 3650


def api_token_create(
    *, user: User, actor: User | None, expires_days: int, name: str = ""
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns it and its plaintext, which is never stored."""
    if not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise ValidationError(f"A token must expire within 1 to {MAX_TOKEN_DAYS} days.")
    if not user.is_active:
        raise ValidationError(f"User {user} is deactivated.")
    new = token_generate(PERSONAL_PREFIX)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            lookup_prefix=new.lookup_prefix,
            digest=new.digest,
            expires_at=timezone.now() + timedelta(days=expires_days),
        )
        audit_record(
            actor=actor,
            action="api_token.create",
            target=token,
            changes={"user": user.username, "expires_at": token.expires_at},
        )
    return token, new.plaintext


def api_token_revoke(*, token: ApiToken, actor: User | None) -> ApiToken:
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor,
                action="api_token.revoke",
                target=token,
                changes={"user": token.user.username},
            )
    return token


def saved_view_save(*, owner: User, page: str, name: str, query: str, shared: bool) -> SavedView:
    """Keep (or replace) the owner's view ``name`` of ``page``."""
    name = name.strip()[:100]
    if not name:
        raise ValidationError({"name": "Give the view a name."})
    view, _ = SavedView.objects.update_or_create(
        owner=owner, page=page, name=name, defaults={"query": query, "shared": shared}
    )
    return view


def user_time_zone_set(*, user: User, time_zone: str) -> UserPreference:
    """Set ``user``'s own time zone (an IANA name); audited with the old and new zone.
    Only ever the acting user's own: there is no way to name someone else."""
    if not is_time_zone(time_zone):
        raise ValidationError({"time_zone": "Choose a time zone from the list."})
    with transaction.atomic():
        preference, _ = UserPreference.objects.select_for_update().get_or_create(user=user)
        before = preference.time_zone
        if before != time_zone:
            preference.time_zone = time_zone
            preference.save(update_fields=["time_zone", "updated_at"])
            audit_record(
                actor=user,
                action="user.preference_change",
                target=preference,
                changes={"time_zone": [before, time_zone]},
            )
    return preference
