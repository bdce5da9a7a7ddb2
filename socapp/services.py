"""Services of the floor: personal API tokens, saved views, a user's own preferences."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .audit import audit_record, model_changes
from .models import ApiToken, SavedView, UserPreference
from .saved_views import NAME_MAX_CHARS, page_not_kept, query_problems, saved_view_pages
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


def _saved_view_clean(*, page: str, name: str, query: str) -> str:
    """The view's name, trimmed; a name or query the page would not keep is refused."""
    name = name.strip()
    problems: dict[str, list[str]] = {}
    if not name:
        problems["name"] = ["Give the view a name."]
    elif "\x00" in name:
        problems["name"] = ["A name cannot contain NUL characters."]
    elif len(name) > NAME_MAX_CHARS:
        problems["name"] = [f"A name is at most {NAME_MAX_CHARS} characters."]
    if page not in saved_view_pages():
        problems["page"] = [page_not_kept(page)]
    else:
        found = query_problems(page, query)
        if found:
            problems["query"] = found
    if problems:
        raise ValidationError(problems)
    return name


def _saved_view_fields(view: SavedView) -> dict[str, object]:
    return {"page": view.page, "name": view.name, "query": view.query, "shared": view.shared}


def saved_view_save(*, owner: User, page: str, name: str, query: str, shared: bool) -> SavedView:
    """Keep (or replace) the owner's view ``name`` of ``page`` (the pages' "Save view")."""
    name = _saved_view_clean(page=page, name=name, query=query)
    existing = SavedView.objects.filter(owner=owner, page=page, name=name).first()
    if existing is not None:
        return saved_view_update(view=existing, actor=owner, query=query, shared=shared)
    return saved_view_create(owner=owner, page=page, name=name, query=query, shared=shared)


def saved_view_create(
    *, owner: User, page: str, name: str, query: str, shared: bool = False
) -> SavedView:
    """A new view of ``page`` for ``owner`` (the acting user: views are one's own), who
    must be one who may open that page."""
    name = _saved_view_clean(page=page, name=name, query=query)
    if not owner.has_perm(saved_view_pages()[page].permission):
        raise PermissionDenied("You may not open this page, so you cannot keep views of it.")
    if SavedView.objects.filter(owner=owner, page=page, name=name).exists():
        raise ValidationError({"name": f"You already have a view of this page named {name!r}."})
    with transaction.atomic():
        view = SavedView.objects.create(
            owner=owner, page=page, name=name, query=query, shared=shared
        )
        audit_record(
            actor=owner,
            action="saved_view.create",
            target=view,
            changes=model_changes({}, _saved_view_fields(view)),
        )
    return view


def _require_owner(view: SavedView, actor: User) -> None:
    if view.owner_id != actor.pk:
        raise PermissionDenied("Only its owner may change or delete a saved view.")


def saved_view_update(
    *,
    view: SavedView,
    actor: User,
    name: str | None = None,
    query: str | None = None,
    shared: bool | None = None,
) -> SavedView:
    """Rename the actor's own view, change its query or whether it is shared."""
    _require_owner(view, actor)
    new_name = _saved_view_clean(
        page=view.page,
        name=view.name if name is None else name,
        query=view.query if query is None else query,
    )
    clash = SavedView.objects.filter(owner=view.owner_id, page=view.page, name=new_name)
    if clash.exclude(pk=view.pk).exists():
        raise ValidationError({"name": f"You already have a view of this page named {new_name!r}."})
    before = _saved_view_fields(view)
    view.name = new_name
    view.query = view.query if query is None else query
    view.shared = view.shared if shared is None else shared
    changes = model_changes(before, _saved_view_fields(view))
    if changes:
        with transaction.atomic():
            view.save(update_fields=["name", "query", "shared"])
            audit_record(actor=actor, action="saved_view.update", target=view, changes=changes)
    return view


def saved_view_delete(*, view: SavedView, actor: User) -> None:
    """Delete the actor's own view."""
    _require_owner(view, actor)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="saved_view.delete",
            target=view,
            changes=model_changes(_saved_view_fields(view), {}),
        )
        view.delete()


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
