"""The optional second factor, through the test client: enrolment with a first code,
login asking for the code after the password, wrong codes refused, counted by the login
lockout and audited, backup codes that work once, admins held to enrolment when
OTP_REQUIRED_FOR_ADMINS, the admin login and the JWT exchange taking the code too."""

from __future__ import annotations

import io
import re
import time

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from rest_framework.test import APIClient

from socapp.models import AuditEntry, AuthenticatorApp
from socapp.second_factor import second_factor_confirm
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ENROL = "/accounts/two-factor/"
LOGIN = "/accounts/login/"
CODE = "/accounts/login/code/"


def code_for(device: AuthenticatorApp, steps_ahead: int = 0) -> str:
    """The code the user's app shows now (or ``steps_ahead`` periods later: a code is
    accepted once, so a second login in the same 30 s takes the next one)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def enrolled(user) -> tuple[AuthenticatorApp, list[str]]:
    """A user who enrolled a minute ago: a confirmed app and ten backup codes. (A code
    is accepted once and only for its period or the next, so the enrolment code's period
    is put a minute back: the test may then use the codes of now and of the next one.)"""
    client = Client()
    client.force_login(user)
    client.get(ENROL)
    device = AuthenticatorApp.objects.get(user=user, confirmed=False)
    confirmed = second_factor_confirm(user=user, code=code_for(device))
    assert confirmed is not None
    AuthenticatorApp.objects.filter(pk=device.pk).update(last_t=F("last_t") - 2)
    return AuthenticatorApp.objects.get(pk=device.pk), confirmed[1]


def password_step(client: Client, username: str, path: str = LOGIN, **extra):
    return client.post(path, {"username": username, "password": PASSWORD, **extra})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# ---- enrolment ----------------------------------------------------------------------------


def test_a_user_enrols_an_app_by_confirming_a_first_code(analyst_a):
    client = Client()
    client.force_login(analyst_a)
    page = client.get(ENROL)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    html = page.content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert 'src="/accounts/two-factor/qr.svg"' in html
    # The page keeps the strict CSP: no inline script or style anywhere on it.
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)|\sstyle=|<style", html)

    qr = client.get("/accounts/two-factor/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
    assert qr["Cache-Control"] == "no-store"
    assert qr.content.startswith(b"<svg") and b"<script" not in qr.content
    assert b"style" not in qr.content

    device = AuthenticatorApp.objects.get(user=analyst_a)
    assert not device.confirmed and device.config_url.count(secret) == 1
    wrong = client.post(ENROL, {"action": "confirm", "code": "000000"})
    assert wrong.status_code == 400 and "does not fit" in wrong.content.decode()
    assert not AuthenticatorApp.objects.get(pk=device.pk).confirmed

    device.refresh_from_db()  # the wrong code moved the device's back-off on
    device.throttle_reset()
    done = client.post(ENROL, {"action": "confirm", "code": code_for(device)})
    assert done.status_code == 200 and done["Cache-Control"] == "no-store"
    codes = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4})</code>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert AuthenticatorApp.objects.get(pk=device.pk).confirmed
    assert StaticToken.objects.filter(device__user=analyst_a).count() == 10
    assert client.session[DEVICE_ID_SESSION_KEY]  # this session counts as verified
    entry = AuditEntry.objects.get(action="auth.second_factor_enrolled")
    assert entry.actor == analyst_a and entry.changes == {"backup_codes": 10}
    after = client.get(ENROL).content.decode()
    assert "Backup codes left" in after and secret not in after
    assert client.get("/accounts/two-factor/qr.svg").status_code == 404


# ---- logging in ---------------------------------------------------------------------------


def test_the_login_asks_for_the_code_after_the_password(analyst_a):
    device, _ = enrolled(analyst_a)
    logins = AuditEntry.objects.filter(action="auth.login", actor=analyst_a)
    before = logins.count()
    client = Client()
    step_one = password_step(client, "analyst_a", next="/alerts/")
    assert step_one.status_code == 302 and step_one["Location"] == CODE
    assert not logged_in(client)  # the password alone logs no one in
    assert client.get("/alerts/")["Location"].startswith(LOGIN)
    assert client.get("/api/v1/me/").status_code == 401
    assert "Your code" in client.get(CODE).content.decode()

    done = client.post(CODE, {"code": code_for(device)})
    assert done.status_code == 302 and done["Location"] == "/alerts/"
    assert logged_in(client) and client.session[DEVICE_ID_SESSION_KEY]
    assert client.get("/alerts/").status_code == 200
    assert logins.count() == before + 1  # one login, after the code


def test_a_user_without_a_device_logs_in_as_before(analyst_a):
    client = Client()
    answer = password_step(client, "analyst_a")
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert logged_in(client)


def test_the_code_step_does_not_outlive_its_minutes(analyst_a, settings):
    device, _ = enrolled(analyst_a)
    client = Client()
    password_step(client, "analyst_a")
    settings.OTP_LOGIN_SECONDS = -1
    late = client.post(CODE, {"code": code_for(device)})
    assert late.status_code == 302 and late["Location"] == LOGIN
    assert not logged_in(client)
    assert Client().get(CODE)["Location"] == LOGIN  # nor is there a step without a password


def test_wrong_codes_are_refused_audited_and_locked_out_like_wrong_passwords(analyst_a, settings):
    device, _ = enrolled(analyst_a)
    limit = settings.LOGIN_FAILURE_LIMIT
    client = Client()
    password_step(client, "analyst_a")
    answers = [client.post(CODE, {"code": f"{n:06d}"}) for n in range(limit + 2)]
    assert [a.status_code for a in answers[: limit - 1]] == [200] * (limit - 1)
    assert "Wrong code" in answers[0].content.decode()
    assert [a.status_code for a in answers[limit - 1 :]] == [429] * 3
    assert not logged_in(client)
    # Locked: the right code is refused, and so is the password on the login page.
    assert client.post(CODE, {"code": code_for(device, 1)}).status_code == 429
    assert password_step(Client(), "analyst_a").status_code == 429
    assert AccessAttempt.objects.get(username="analyst_a").failures_since_start == limit
    failed = AuditEntry.objects.filter(action="auth.login_failed", actor_name="analyst_a")
    assert failed.filter(changes__factor="one-time code").count() == limit
    # The owner elsewhere still logs in (password, then code).
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    password_step(elsewhere, "analyst_a")
    AuthenticatorApp.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    assert elsewhere.post(CODE, {"code": code_for(device, 1)}).status_code == 302


def test_the_device_backs_off_whatever_the_address(analyst_a, settings):
    """Guessing from many addresses, each under the lockout, still meets the device's own
    back-off: after n wrong codes in a row it checks no code for factor x 2^(n-1) s."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a minute after one wrong code: no timing here
    device, _ = enrolled(analyst_a)
    for n in range(4):
        guesser = Client(REMOTE_ADDR=f"203.0.113.{n + 1}")
        password_step(guesser, "analyst_a")
        assert guesser.post(CODE, {"code": f"12345{n}"}).status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # 4 guesses, 1 checked
    owner = Client()
    password_step(owner, "analyst_a")
    refused = owner.post(CODE, {"code": code_for(device)})  # right, but within the minute
    assert refused.status_code == 200 and not logged_in(owner)
    assert "try again in" in refused.content.decode()


def test_a_backup_code_logs_in_once(analyst_a):
    _, backup = enrolled(analyst_a)
    client = Client()
    password_step(client, "analyst_a")
    assert client.post(CODE, {"code": backup[0].upper()}).status_code == 302  # as typed
    assert logged_in(client)
    assert StaticToken.objects.filter(device__user=analyst_a).count() == 9

    again = Client()
    password_step(again, "analyst_a")
    assert again.post(CODE, {"code": backup[0]}).status_code == 200
    assert not logged_in(again)


def test_removing_the_second_factor_takes_a_code(analyst_a):
    device, _ = enrolled(analyst_a)
    client = Client()
    password_step(client, "analyst_a")
    client.post(CODE, {"code": code_for(device)})
    refused = client.post(ENROL, {"action": "remove", "code": "000000"})
    assert refused.status_code == 400 and AuthenticatorApp.objects.filter(user=analyst_a).exists()
    AuthenticatorApp.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    removed = client.post(ENROL, {"action": "remove", "code": code_for(device, 1)})
    assert removed.status_code == 302
    assert not AuthenticatorApp.objects.filter(user=analyst_a).exists()
    assert AuditEntry.objects.filter(action="auth.second_factor_removed").count() == 1
    fresh = Client()
    assert password_step(fresh, "analyst_a")["Location"] == "/" and logged_in(fresh)


# ---- admins -----------------------------------------------------------------------------


def test_the_admin_login_asks_for_the_code_too(soc_admin):
    device, _ = enrolled(soc_admin)
    client = Client()
    step_one = password_step(client, "soc_admin", "/admin/login/", next="/admin/")
    assert step_one.status_code == 302 and step_one["Location"] == CODE
    assert not logged_in(client)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    done = client.post(CODE, {"code": code_for(device)})
    assert done["Location"] == "/admin/" and client.get("/admin/").status_code == 200


def test_admins_without_a_device_get_enrolment_only_when_required(soc_admin, analyst_a, settings):
    settings.OTP_REQUIRED_FOR_ADMINS = True
    client = Client()
    assert password_step(client, "soc_admin").status_code == 302 and logged_in(client)
    for page in ("/", "/alerts/", "/admin/", "/audit/"):
        assert client.get(page)["Location"] == ENROL, page
    refused = client.get("/api/v1/me/")
    assert refused.status_code == 403 and "second factor" in refused.json()["detail"]
    page = client.get(ENROL)
    assert page.status_code == 200 and "Your role needs a second factor" in page.content.decode()

    device = AuthenticatorApp.objects.get(user=soc_admin, confirmed=False)
    assert client.post(ENROL, {"action": "confirm", "code": code_for(device)}).status_code == 200
    for page in ("/", "/alerts/", "/admin/", "/api/v1/me/"):
        assert client.get(page).status_code == 200, page
    # Nor can it be removed while required.
    device.refresh_from_db()
    kept = client.post(ENROL, {"action": "remove", "code": code_for(device, 1)})
    assert kept.status_code == 400 and AuthenticatorApp.objects.filter(user=soc_admin).exists()

    # An analyst is not an admin: nothing changes for them.
    analyst = Client()
    password_step(analyst, "analyst_a")
    assert analyst.get("/alerts/").status_code == 200


def test_an_admin_with_an_old_unverified_session_is_held_too(soc_admin, settings):
    enrolled(soc_admin)
    client = Client()
    client.force_login(soc_admin)  # a session from before the setting, without a code
    settings.OTP_REQUIRED_FOR_ADMINS = True
    assert client.get("/admin/")["Location"] == ENROL
    assert "log out and log in again" in client.get(ENROL).content.decode()


# ---- the JWT exchange -------------------------------------------------------------------


@pytest.fixture
def jwt_on(settings):
    settings.JWT_ENABLED = True
    settings.JWT_SIGNING_KEY = "second-factor-test-key-" + "j" * 32
    return settings


def obtain(username: str, **extra):
    body = {"username": username, "password": PASSWORD, **extra}
    return APIClient().post("/api/v1/auth/token/", body, format="json")


def test_the_jwt_exchange_takes_the_code_of_a_user_who_has_one(integration, jwt_on):
    device, backup = enrolled(integration)
    missing = obtain("integration")
    assert missing.status_code == 401 and "`otp`" in missing.json()["detail"]
    assert obtain("integration", otp="000000").status_code == 401
    assert AccessAttempt.objects.get(username="integration").failures_since_start == 1
    assert obtain("integration", otp=backup[0]).status_code == 200
    AuthenticatorApp.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    assert obtain("integration", otp=code_for(device)).status_code == 200
    issued = AuditEntry.objects.filter(action="auth.jwt_issued")
    assert [e.changes["second_factor"] for e in issued] == [True, True]


def test_an_admin_without_a_device_gets_no_jwt_when_required(soc_admin, jwt_on):
    jwt_on.OTP_REQUIRED_FOR_ADMINS = True
    refused = obtain("soc_admin")
    assert refused.status_code == 403 and "second factor" in refused.json()["detail"]
    jwt_on.OTP_REQUIRED_FOR_ADMINS = False
    assert obtain("soc_admin").status_code == 200


def test_the_pages_need_a_login():
    for path in (ENROL, "/accounts/two-factor/qr.svg"):
        assert Client().get(path)["Location"].startswith(f"{LOGIN}?next=")


def test_an_admin_takes_away_a_lost_second_factor_and_never_sees_secrets(analyst_a, soc_admin):
    device, _ = enrolled(analyst_a)
    admin = Client()
    admin.force_login(soc_admin)
    listing = admin.get("/admin/otp_totp/totpdevice/")
    assert listing.status_code == 200 and "analyst_a" in listing.content.decode()
    assert (
        device.key
        not in admin.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").content.decode()
    )
    answer = admin.post(
        "/admin/otp_totp/totpdevice/", {"action": "remove", "_selected_action": [device.pk]}
    )
    assert answer.status_code == 302
    assert not AuthenticatorApp.objects.filter(user=analyst_a).exists()
    assert not StaticToken.objects.filter(device__user=analyst_a).exists()
    entry = AuditEntry.objects.get(action="auth.second_factor_removed")
    assert entry.actor == soc_admin and entry.changes == {"user": "analyst_a", "devices": 2}
    client = Client()
    assert password_step(client, "analyst_a")["Location"] == "/" and logged_in(client)


# ---- secrets at rest ------------------------------------------------------------------------


def stored_rows(user) -> tuple[list[str], list[str]]:
    """What the database holds: the TOTP key column and the backup-code column."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM otp_totp_totpdevice WHERE user_id = %s", [user.pk])
        keys = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT t.token FROM otp_static_statictoken t "
            "JOIN otp_static_staticdevice d ON d.id = t.device_id WHERE d.user_id = %s",
            [user.pk],
        )
        codes = [row[0] for row in cursor.fetchall()]
    return keys, codes


def test_the_database_holds_neither_the_secret_nor_the_backup_codes(analyst_a):
    device, codes = enrolled(analyst_a)
    keys, stored_codes = stored_rows(analyst_a)
    secret_hex = device.bin_key.hex()
    assert keys == [device.key] and keys[0].startswith("sealed:")
    assert secret_hex not in keys[0]
    assert len(stored_codes) == 10
    assert not {c.replace("-", "") for c in codes} & set(stored_codes)
    # The row of another user cannot be moved over: the secret is bound to its owner.
    from django.core.exceptions import ImproperlyConfigured

    from socapp.crypto import open_secret

    with pytest.raises(ImproperlyConfigured):
        open_secret(keys[0], f"totp:{analyst_a.pk + 1}")
    # ...and the second factor still works: a TOTP code and a backup code, once.
    client = Client()
    password_step(client, "analyst_a")
    assert client.post(CODE, {"code": codes[0]}).status_code == 302 and logged_in(client)
    client = Client()
    password_step(client, "analyst_a")
    assert client.post(CODE, {"code": code_for(device, 1)}).status_code == 302
    assert len(stored_rows(analyst_a)[1]) == 9


def test_enrolments_made_before_are_sealed_by_the_migration_and_keep_working(analyst_a):
    """A device and codes written the way django-otp writes them (plain hex, plain codes),
    then the migration's step: the same app and the same codes still log in."""
    import importlib

    from django.apps import apps as installed
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    plain = TOTPDevice.objects.create(user=analyst_a, name="phone", confirmed=True)
    secret = plain.key
    backup = StaticDevice.objects.create(user=analyst_a, name="backup codes", confirmed=True)
    StaticToken.objects.create(device=backup, token="abcdefgh")
    migration = importlib.import_module("socapp.migrations.0007_second_factor_sealed")
    migration.seal(installed, None)

    keys, codes = stored_rows(analyst_a)
    assert keys[0].startswith("sealed:") and secret not in keys[0]
    assert codes != ["abcdefgh"] and len(codes) == 1
    device = AuthenticatorApp.objects.get(pk=plain.pk)
    assert device.bin_key.hex() == secret
    client = Client()
    password_step(client, "analyst_a")
    assert client.post(CODE, {"code": "abcd-efgh"}).status_code == 302 and logged_in(client)
    client = Client()
    password_step(client, "analyst_a")
    assert client.post(CODE, {"code": code_for(device)}).status_code == 302


def test_rotating_the_keys_reseals_the_secret_and_the_app_keeps_working(analyst_a, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    device, _ = enrolled(analyst_a)
    secret, before = device.bin_key, stored_rows(analyst_a)[0][0]
    old_keys = settings.FIELD_ENCRYPTION_KEYS
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key gone
    after = stored_rows(analyst_a)[0][0]
    assert after.startswith("sealed:") and after != before
    resealed = AuthenticatorApp.objects.get(pk=device.pk)
    assert resealed.bin_key == secret
    client = Client()
    password_step(client, "analyst_a")
    assert client.post(CODE, {"code": code_for(resealed, 1)}).status_code == 302
