"""Login lockout for the login page and the admin (django-axes, configured in settings).

Two limits within LOGIN_LOCKOUT_MINUTES: LOGIN_FAILURE_LIMIT failures for one account
from one address (someone guessing one password), and the larger
LOGIN_FAILURE_LIMIT_PER_ADDRESS from one address for any accounts (someone spraying
passwords over many; larger because an office may share one address). Either locks
logins from that address (for that account, or for all) until the failures age out;
while locked the right password is refused too. Nobody can lock an account from an
address they do not control, and the address comes from ``socapp.audit.request_addr``,
so a forged X-Forwarded-For is believed only from TRUSTED_PROXIES.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a login while its account or address is locked out.

    Code that calls ``authenticate()`` without a request (a management command, a
    test) has no client to lock out, and is let through to the password check."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


class LoginLockoutHandler(AxesDatabaseHandler):
    """axes compares the failures of each lockout parameter with one limit; this one
    gives the address its own, larger allowance (AXES_LOCKOUT_PARAMETERS lists the
    account at the address first, then the address)."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        by_account, by_address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if by_address >= settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS:
            return max(by_account, settings.AXES_FAILURE_LIMIT)
        return by_account

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """A successful login forgets that account's failures at that address only:
        logging in to one's own account must not wipe the address's count of
        failures on other accounts."""
        deleted, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            # Set on the request by django-axes (the address it counts failures for).
            ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
        ).delete()
        return deleted


LOCKED_OUT = (
    "Too many failed logins from your address (for this account, or for all): logins are "
    "refused, the right password too, for {} minutes."
)


def locked_out_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """The page a locked-out login gets: 429, what happened, when to try again. It says
    the same whether or not the account exists. The API (JWT exchange) gets it as JSON."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": LOCKED_OUT.format(minutes)}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
