"""The optional second factor (django-otp): TOTP authenticator apps, with single-use
backup codes for when the phone is lost.

* A user enrolls from their own page (/accounts/two-factor/): an unconfirmed TOTP device
  is made, its secret shown as a QR code and as text, and it counts only once a first
  code from it has been typed (``second_factor_confirm``). Backup codes are then made
  and shown once.
* Logging in with a device takes the password, then a code (socapp.account_views);
  so does exchanging a password for JWTs (the ``otp`` field).
* A wrong code is a failed login: it goes through the same lockout as a wrong password
  (django-axes counts it for that account at that address, and for the address) and is
  audited as ``auth.login_failed`` with ``factor``. On top of that each device backs off
  on its own (django-otp: after n failures in a row, 2^(n-1) seconds before it checks
  again), which bounds guessing from many addresses too.
* OTP_REQUIRED_FOR_ADMINS: staff, superusers and SOC admins must have a device; without
  one they can use nothing but enrolment (socapp.middleware.SecondFactorMiddleware).
* Secrets at rest: TOTP secrets are sealed and backup codes kept as keyed digests
  (socapp.models.AuthenticatorApp and BackupCodes, django-otp's rows through proxies).
"""

from __future__ import annotations

import re

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import roles
from .audit import audit_record
from .models import AuthenticatorApp, BackupCodes
from .users import RequestUser, User

BACKUP_CODES = 10
TOTP_NAME = "authenticator app"
BACKUP_NAME = "backup codes"
_TOTP_CODE = re.compile(r"\d{6}")
_BACKUP_CODE = re.compile(r"[a-z2-7]{8}")


def is_admin(user: User) -> bool:
    return bool(
        user.is_staff or user.is_superuser or user.groups.filter(name=roles.SOC_ADMIN).exists()
    )


def second_factor_required(user: RequestUser) -> bool:
    """Whether ``user`` must have a confirmed device (OTP_REQUIRED_FOR_ADMINS)."""
    return bool(settings.OTP_REQUIRED_FOR_ADMINS and user.is_authenticated and is_admin(user))


def has_second_factor(user: RequestUser) -> bool:
    return bool(user.is_authenticated and user_has_device(user, confirmed=True))


def normalized(code: str) -> str:
    """Codes as people type them: spaces and dashes dropped, letters lower-cased."""
    return re.sub(r"[\s-]", "", code).lower()[:32]


def _devices_for(user: User, code: str) -> list[Device]:
    """The devices a code can be for: six digits a TOTP device, eight letters a backup
    code. Only those are tried, so a backup code never counts as a wrong TOTP code."""
    if _TOTP_CODE.fullmatch(code):
        return list(
            AuthenticatorApp.objects.devices_for_user(user, confirmed=True).select_for_update()
        )
    if _BACKUP_CODE.fullmatch(code):
        return list(BackupCodes.objects.devices_for_user(user, confirmed=True).select_for_update())
    return []


def device_wait_seconds(user: User) -> int:
    """Seconds until the user's devices check codes again after wrong ones (0: now)."""
    waits = [0]
    for device in (*TOTPDevice.objects.filter(user=user), *StaticDevice.objects.filter(user=user)):
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            waits.append(int((data["locked_until"] - timezone.now()).total_seconds()) + 1)
    return max(waits)


def code_locked_out(request: HttpRequest, user: User) -> bool:
    """Whether logins of ``user`` from this address are locked (wrong passwords and
    wrong codes both count)."""
    return not AxesProxyHandler.is_allowed(request, {"username": user.get_username()})


def code_verify(*, request: HttpRequest, user: User, code: str) -> Device | None:
    """The device that accepts ``code`` (a TOTP code or an unused backup code, which is
    then spent), or None: then the failure is counted by the login lockout and audited."""
    code = normalized(code)
    with transaction.atomic():
        device = next((d for d in _devices_for(user, code) if d.verify_token(code)), None)
    if device is None:
        # axes counts it (account at address, and address), the audit log records it.
        user_login_failed.send(
            sender=__name__,
            credentials={"username": user.get_username(), "factor": "one-time code"},
            request=request,
        )
    return device


# ---- enrolment --------------------------------------------------------------------------


def pending_device(user: User) -> AuthenticatorApp:
    """The user's unconfirmed TOTP device (made when missing): its secret is what the
    enrolment page shows until a first code confirms it."""
    device = AuthenticatorApp.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = AuthenticatorApp.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def pending_device_renew(*, user: User) -> AuthenticatorApp:
    """A new secret for enrolment (the one shown may have been seen by someone else)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return pending_device(user)


def second_factor_confirm(*, user: User, code: str) -> tuple[AuthenticatorApp, list[str]] | None:
    """Confirm the pending device with its first code; returns it and the new backup
    codes (to show once), or None when the code does not fit."""
    with transaction.atomic():
        device = (
            AuthenticatorApp.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("-id")
            .first()
        )
        code = normalized(code)
        if device is None or not _TOTP_CODE.fullmatch(code) or not device.verify_token(code):
            return None
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_backup_codes(user)
        audit_record(
            actor=user,
            action="auth.second_factor_enrolled",
            target=device,
            changes={"backup_codes": len(codes)},
        )
    return device, codes


def backup_codes_renew(*, user: User) -> list[str]:
    """New backup codes for ``user`` (the old ones stop working); shown once."""
    with transaction.atomic():
        codes = _new_backup_codes(user)
        audit_record(
            actor=user, action="auth.backup_codes_renewed", changes={"backup_codes": len(codes)}
        )
    return codes


def _new_backup_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = BackupCodes.objects.create(user=user, name=BACKUP_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    device.add_codes(codes)
    return codes


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def second_factor_remove(*, user: User, actor: User) -> int:
    """Remove every device of ``user`` (they, or an admin after a lost phone); returns
    how many there were."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[1].get(TOTPDevice._meta.label, 0)
        removed += (
            StaticDevice.objects.filter(user=user).delete()[1].get(StaticDevice._meta.label, 0)
        )
        audit_record(
            actor=actor,
            action="auth.second_factor_removed",
            changes={"user": user.get_username(), "devices": removed},
        )
    return removed
