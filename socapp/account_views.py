"""Logging in (password, then a code for users with a second factor), for the console
and the admin alike, and the user's own second-factor page.

A user without a device logs in exactly as before: one form, one POST. A user with one
is not logged in by the password: the session only remembers, for OTP_LOGIN_SECONDS,
who passed it; the login happens when a code from one of their devices is accepted on
/accounts/login/code/ (and the session is then marked verified for django-otp).
"""

from __future__ import annotations

import io
import time
from typing import Any

import django_otp
import segno
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_otp.middleware import is_verified

from .lockout import locked_out_response
from .second_factor import (
    backup_codes_left,
    backup_codes_renew,
    code_locked_out,
    code_verify,
    device_wait_seconds,
    has_second_factor,
    pending_device,
    pending_device_renew,
    second_factor_confirm,
    second_factor_remove,
    second_factor_required,
)
from .selectors import time_zone_name_of
from .services import user_time_zone_set
from .timezones import time_zone_names
from .users import User, user_of

PENDING = "socapp_2fa_pending"


class LoginView(auth_views.LoginView):
    """Django's login view; a user with a second factor is sent on to the code step
    instead of being logged in."""

    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not has_second_factor(user):
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("login_code")


@never_cache
def admin_login(request: HttpRequest) -> HttpResponseBase:
    """/admin/login/ through the same two steps (Django's admin login would log a user
    with a device in on the password alone)."""
    if request.method == "GET" and admin.site.has_permission(request):
        return redirect("admin:index")
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index")
    return LoginView.as_view(
        authentication_form=AdminAuthenticationForm,
        template_name="admin/login.html",
        extra_context=context,
        redirect_authenticated_user=False,
    )(request)


def _pending_user(request: HttpRequest) -> tuple[Any, dict] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > (
        settings.OTP_LOGIN_SECONDS
    ):
        request.session.pop(PENDING, None)
        return None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return (user, pending) if user is not None else None


@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app, or a backup code."""
    found = _pending_user(request)
    if found is None:
        messages.info(request, "Log in with your password first (the code step lasts minutes).")
        return redirect("login")
    user, pending = found
    error = ""
    if request.method == "POST":
        if code_locked_out(request, user):
            return locked_out_response(request)
        device = code_verify(request=request, user=user, code=request.POST.get("code", ""))
        if device is not None:
            del request.session[PENDING]
            login(request, user, backend=pending["backend"])
            django_otp.login(request, device)
            return redirect(pending["next"])
        wait = device_wait_seconds(user)
        error = (
            f"Wrong code. After several wrong codes the check waits: try again in {wait} s."
            if wait > 1
            else "Wrong code."
        )
    return render(request, "registration/login_code.html", {"error": error})


# ---- the user's own page ------------------------------------------------------------------


def _no_store(response: HttpResponse) -> HttpResponse:
    """Secrets and codes must not stay in a cache or the browser's history."""
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app (confirming a first code), renew backup codes, or
    remove the second factor."""
    user = user_of(request)
    enrolled = has_second_factor(user)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    error = ""
    if action == "confirm" and not enrolled:
        confirmed = second_factor_confirm(user=user, code=request.POST.get("code", ""))
        if confirmed is not None:
            device, codes = confirmed
            django_otp.login(request, device)
            return _backup_codes_page(request, codes, enrolled_now=True)
        error = "That code does not fit: type the six digits your app shows now."
    elif action == "renew_secret" and not enrolled:
        pending_device_renew(user=user)
        return redirect("two_factor")
    elif action == "backup_codes" and enrolled and is_verified(user):
        return _backup_codes_page(request, backup_codes_renew(user=user), enrolled_now=False)
    elif action == "remove" and enrolled:
        error = _remove(request, user)
        if not error:
            return redirect("two_factor")
    elif action:
        error = "That cannot be done now."
    context: dict[str, Any] = {
        "enrolled": enrolled,
        "verified": is_verified(user),
        "required": second_factor_required(user),
        "error": error,
    }
    if enrolled:
        context["backup_codes_left"] = backup_codes_left(user)
    else:
        device = pending_device(user)
        context["secret"] = _grouped(device.config_url.split("secret=")[1].split("&")[0])
        context["otpauth_uri"] = device.config_url
    status = 400 if error else 200
    return _no_store(render(request, "registration/two_factor.html", context, status=status))


def _remove(request: HttpRequest, user: User) -> str:
    """Removing the second factor takes a current code (or a backup code)."""
    if second_factor_required(user):
        return "Your role needs a second factor: it cannot be removed."
    if code_locked_out(request, user):
        return "Too many wrong codes from your address; try again later."
    if code_verify(request=request, user=user, code=request.POST.get("code", "")) is None:
        return "Wrong code: the second factor stays."
    second_factor_remove(user=user, actor=user)
    messages.success(request, "The second factor is removed; logins take the password only.")
    return ""


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _backup_codes_page(
    request: HttpRequest, codes: list[str], *, enrolled_now: bool
) -> HttpResponse:
    context = {"codes": [f"{c[:4]}-{c[4:]}" for c in codes], "enrolled_now": enrolled_now}
    return _no_store(render(request, "registration/backup_codes.html", context))


@login_required
@require_GET
def two_factor_qr(request: HttpRequest) -> HttpResponse:
    """The pending device's otpauth URI as an SVG QR code, from our own origin (an <img>
    under the site's CSP; the SVG holds no script or style)."""
    if has_second_factor(request.user):
        raise Http404("Already enrolled.")
    buffer = io.BytesIO()
    segno.make(pending_device(user_of(request)).config_url, error="m").save(
        buffer, kind="svg", scale=5, border=4, dark="#000", light="#fff", xmldecl=False
    )
    return _no_store(HttpResponse(buffer.getvalue(), content_type="image/svg+xml"))


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The user's own preferences: the time zone pages show times in (audited). There is
    no user in the URL or the form: whoever is logged in changes their own, nobody else's."""
    user = user_of(request)
    error = ""
    if request.method == "POST":
        try:
            user_time_zone_set(user=user, time_zone=request.POST.get("time_zone", "")[:64])
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, "Saved: times are now shown in your time zone.")
            return redirect("preferences")
    context = {
        "time_zones": time_zone_names(),
        "chosen": request.POST.get("time_zone", "") if error else time_zone_name_of(user),
        "error": error,
        "now": timezone.now(),
    }
    return render(request, "registration/preferences.html", context, status=400 if error else 200)
