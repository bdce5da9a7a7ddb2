"""Permission bases shared by every app's API: deny by default, roles first.

A request passes only if its user is authenticated, holds a role (a Group) or is a
superuser, and has the model permission for the method (reading needs ``view_*``).
Object-level rules (incidents, alerts) live in each app's selectors and are applied
by filtering querysets, so what a user cannot see is a 404, never a leak.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from rest_framework import permissions
from rest_framework.request import Request

from .users import RequestUser, User

# The answer is kept on the user object, which lives as long as the request.
_ROLE_CACHE = "_socapp_has_role"


def user_has_role(user: RequestUser | None) -> TypeGuard[User]:
    """True for superusers and for users that belong to at least one role group."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    cached: bool | None = getattr(user, _ROLE_CACHE, None)
    if cached is None:
        cached = user.groups.exists()
        setattr(user, _ROLE_CACHE, cached)
    return cached


class HasSocRole(permissions.BasePermission):
    message = "Your account has no role in socapp; ask an administrator to assign one."

    def has_permission(self, request: Request, view: Any) -> bool:
        return user_has_role(request.user)


class IsAuthenticatedWithRole(permissions.BasePermission):
    """For views without a model (API root, schema, whoami)."""

    message = HasSocRole.message

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated) and user_has_role(request.user)


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, where reading requires ``view_<model>`` as well."""

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        # A view without a queryset must choose its own permission classes; deny here.
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return False
        # Extra actions (POST /incidents/{id}/assign/) say what they need instead of the
        # method's default (POST would otherwise mean "add"): a list for every method, or
        # a dict by method (reading an incident's comments needs less than adding one).
        needed = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if isinstance(needed, dict):
            needed = needed.get(request.method, needed.get("*"))
        if needed is not None:
            return request.user.has_perms(needed)
        return super().has_permission(request, view)
