"""The user model under the one name every app annotates with: ``actor: User``.

socapp keeps Django's own user model (the settings set no AUTH_USER_MODEL), so ``User``
is ``django.contrib.auth.models.User``; code that needs the class at run time may still
ask ``get_user_model()``. Import this module only where models may be imported (not
from settings or an ``AppConfig`` module).
"""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request

# Whoever a request comes from, signed in or not.
RequestUser: TypeAlias = User | AnonymousUser


def user_of(request: HttpRequest | Request) -> User:
    """The signed-in user of a request, as the actor of what it does. Pages require a
    login, the API's default permissions require authentication and the admin requires
    staff, so the views that call this never see an anonymous user; were one to get
    through, it is refused rather than passed on as an actor."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user


__all__ = ["AnonymousUser", "RequestUser", "User", "user_of"]
