"""JWTs for integrations, through the real API: off unless enabled; exchanged for a
password through the login lockout; short-lived access tokens with single-use refresh
tokens; roles, deactivation and password changes read from the database at every use;
and every forged or invalid token refused (research list S10)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import jwt
import pytest
from axes.models import AccessAttempt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from socapp import roles
from socapp.models import AuditEntry, JwtSession
from socapp.services import api_token_create
from tests.conftest import PASSWORD, ROOT

pytestmark = pytest.mark.django_db

KEY = "jwt-test-signing-key-" + "k" * 32
OBTAIN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
REVOKE = "/api/v1/auth/token/revoke/"
ME = "/api/v1/me/"


@pytest.fixture
def jwt_on(settings):
    settings.JWT_ENABLED = True
    settings.JWT_SIGNING_KEY = KEY
    return settings


def obtain(username: str, password: str = PASSWORD, **extra):
    return APIClient().post(OBTAIN, {"username": username, "password": password, **extra})


def pair_for(username: str) -> dict:
    answer = obtain(username)
    assert answer.status_code == 200, answer.content
    return answer.json()


def bearer(token: str, path: str = ME, **meta):
    return APIClient().get(path, HTTP_AUTHORIZATION=f"Bearer {token}", **meta)


def refresh(token: str, path: str = REFRESH):
    return APIClient().post(path, {"refresh": token}, format="json")


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# ---- off by default ---------------------------------------------------------------------


def test_off_by_default_the_endpoints_are_404_and_jwts_are_refused(integration, settings):
    assert settings.JWT_ENABLED is False
    for path, body in (
        (OBTAIN, {"username": "integration", "password": PASSWORD}),
        (REFRESH, {"refresh": "x"}),
        (REVOKE, {"refresh": "x"}),
    ):
        answer = APIClient().post(path, body, format="json")
        assert answer.status_code == 404 and "JWT_ENABLED" in answer.json()["detail"]
    # A token that was good while JWTs were on is refused once they are off.
    settings.JWT_ENABLED, settings.JWT_SIGNING_KEY = True, KEY
    access = pair_for("integration")["access"]
    assert bearer(access).status_code == 200
    settings.JWT_ENABLED = False
    refused = bearer(access)
    assert refused.status_code == 401 and "JWT_ENABLED" in refused.json()["detail"]


def test_settings_refuse_a_missing_short_or_shared_signing_key():
    base = {**os.environ, "JWT_ENABLED": "true", "SECRET_KEY": "s" * 50}
    for key, message in (
        ("", "JWT_SIGNING_KEY of 32+ characters"),
        ("short", "JWT_SIGNING_KEY of 32+ characters"),
        ("s" * 50, "must not be SECRET_KEY"),
    ):
        started = subprocess.run(
            [sys.executable, "manage.py", "check", "--settings=socapp.settings.base"],
            cwd=ROOT,
            env={**base, "JWT_SIGNING_KEY": key},
            capture_output=True,
            text=True,
            check=False,
        )
        assert started.returncode != 0 and message in started.stderr, key


# ---- the normal life of a token ------------------------------------------------------------


def test_an_integration_exchanges_its_password_and_works_with_the_token(integration, jwt_on):
    pair = pair_for("integration")
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 300
    me = bearer(pair["access"])
    assert me.status_code == 200 and me.json()["username"] == "integration"
    assert bearer(pair["access"], "/api/v1/alerts/").status_code == 200
    claims = claims_of(pair["access"])
    # Short-lived, ours, for this API; and nothing in it says what the user may do.
    assert claims["exp"] - claims["iat"] == 300
    assert (claims["iss"], claims["aud"], claims["use"]) == ("socapp", "socapp-api", "access")
    assert set(claims) == {"iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "pwd", "use"}
    assert jwt.get_unverified_header(pair["access"]) == {"alg": "HS256", "typ": "JWT"}
    issued = AuditEntry.objects.get(action="auth.jwt_issued")
    assert issued.actor == integration and issued.object_id == claims["sid"]


def test_a_personal_token_and_a_jwt_work_side_by_side(integration, jwt_on):
    _, personal = api_token_create(user=integration, actor=integration, expires_days=1)
    assert bearer(personal).status_code == 200
    assert bearer(pair_for("integration")["access"]).status_code == 200


def test_roles_come_from_the_database_not_from_the_token(analyst_a, jwt_on):
    access = pair_for("analyst_a")["access"]
    assert bearer(access, "/api/v1/alerts/").status_code == 200
    assert bearer(access, "/api/v1/audit/").status_code == 403  # analysts do not read it
    analyst_a.groups.clear()
    assert bearer(access, "/api/v1/alerts/").status_code == 403  # no role now: nothing
    analyst_a.groups.add(Group.objects.get(name=roles.AUDITOR))
    assert bearer(access, "/api/v1/audit/").status_code == 200  # the same token, new role


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(integration, jwt_on):
    first = pair_for("integration")
    second = refresh(first["refresh"])
    assert second.status_code == 200
    second = second.json()
    assert second["refresh"] != first["refresh"] and bearer(second["access"]).status_code == 200
    third = refresh(second["refresh"]).json()

    # The first refresh token again: someone holds a copy. Everything of the session ends.
    reused = refresh(first["refresh"])
    assert reused.status_code == 401 and "used twice" in reused.json()["detail"]
    assert refresh(third["refresh"]).status_code == 401
    for access in (first["access"], second["access"], third["access"]):
        assert bearer(access).status_code == 401
    entry = AuditEntry.objects.get(action="auth.jwt_refresh_reused")
    assert entry.actor == integration and entry.result == AuditEntry.Result.DENIED
    assert JwtSession.objects.get().revoke_reason == "a refresh token was used twice"
    # A new exchange starts a new session.
    assert bearer(pair_for("integration")["access"]).status_code == 200


def test_signing_out_ends_the_session(integration, jwt_on):
    pair = pair_for("integration")
    assert refresh(pair["refresh"], REVOKE).status_code == 204
    assert bearer(pair["access"]).status_code == 401
    assert refresh(pair["refresh"]).status_code == 401
    assert AuditEntry.objects.filter(action="auth.jwt_revoked").count() == 1


def test_a_deactivated_user_is_refused_at_once(integration, jwt_on):
    pair = pair_for("integration")
    integration.is_active = False
    integration.save()
    refused = bearer(pair["access"])
    assert refused.status_code == 401 and "deactivated" in refused.json()["detail"]
    assert refresh(pair["refresh"]).status_code == 401
    assert obtain("integration").status_code == 401


def test_tokens_issued_before_a_password_change_are_refused(integration, jwt_on):
    pair = pair_for("integration")
    integration.set_password("a whole new passphrase 2026")
    integration.save()
    refused = bearer(pair["access"])
    assert refused.status_code == 401 and "password was changed" in refused.json()["detail"]
    assert refresh(pair["refresh"]).status_code == 401
    assert obtain("integration").status_code == 401
    fresh = obtain("integration", "a whole new passphrase 2026").json()["access"]
    assert bearer(fresh).status_code == 200


def test_refresh_and_access_tokens_do_not_stand_in_for_each_other(integration, jwt_on):
    pair = pair_for("integration")
    as_access = bearer(pair["refresh"])
    assert as_access.status_code == 401 and "refresh token" in as_access.json()["detail"]
    assert refresh(pair["access"]).status_code == 401
    assert refresh(pair["refresh"]).status_code == 200  # neither attempt spent it


def test_sessions_per_user_are_bounded(integration, jwt_on):
    jwt_on.JWT_MAX_SESSIONS_PER_USER = 3
    pairs = [pair_for("integration") for _ in range(5)]
    assert JwtSession.objects.filter(revoked_at__isnull=True).count() == 3
    assert [bearer(p["access"]).status_code for p in pairs] == [401, 401, 200, 200, 200]
    assert JwtSession.objects.count() == 5  # two revoked, deleted once old
    jwt_on.JWT_REFRESH_TOKEN_SECONDS = 0  # every dead session is now past keeping
    pair_for("integration")
    assert JwtSession.objects.count() <= 3 + 1


# ---- the exchange and the login lockout ----------------------------------------------------


def test_wrong_passwords_lock_the_exchange_like_the_login_page(integration, jwt_on):
    limit = jwt_on.LOGIN_FAILURE_LIMIT
    answers = [obtain("integration", f"guess {n}") for n in range(limit + 3)]
    assert [a.status_code for a in answers[: limit - 1]] == [401] * (limit - 1)
    assert {a.status_code for a in answers[limit - 1 :]} == {429}
    locked = answers[-1]
    assert locked["Content-Type"] == "application/json"
    assert "Too many failed logins" in locked.json()["detail"]
    assert locked["Retry-After"] == str(jwt_on.LOGIN_LOCKOUT_MINUTES * 60)
    # The right password is refused too, on the API and on the login page alike.
    assert obtain("integration").status_code == 429
    page = Client().post("/accounts/login/", {"username": "integration", "password": PASSWORD})
    assert page.status_code == 429
    # Every attempt is audited; the lockout counted only those before the lock.
    failed = AuditEntry.objects.filter(action="auth.login_failed", actor_name="integration")
    assert failed.count() == limit + 3 + 2
    assert AccessAttempt.objects.get(username="integration").failures_since_start == limit


def test_failures_on_the_login_page_count_for_the_exchange(integration, jwt_on):
    for n in range(jwt_on.LOGIN_FAILURE_LIMIT):
        Client().post("/accounts/login/", {"username": "integration", "password": f"x{n}"})
    assert obtain("integration").status_code == 429


# ---- forged and invalid tokens (S10) ---------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json64(value: dict) -> str:
    return _b64(json.dumps(value).encode())


HS256 = {"alg": "HS256", "typ": "JWT"}


def _signed(claims: dict, key: str = KEY, algorithm: str = "HS256", **headers) -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers or None)


def _rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _forgeries(genuine: str, other: str) -> dict[str, Callable[[], str]]:
    """Tokens built from a genuine one (its session, user and password fingerprint are
    right), each wrong in one way; ``other`` is a genuine token of another user."""
    head, body, sig = genuine.split(".")
    theirs = claims_of(other)

    def c(**changes) -> dict:
        claims = {**claims_of(genuine), "jti": uuid.uuid4().hex, **changes}
        return {k: v for k, v in claims.items() if v is not None}

    public_pem = (
        _rsa_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return {
        "alg none": lambda: f"{_json64({'alg': 'none', 'typ': 'JWT'})}.{_json64(c())}.",
        "alg None, signature kept": lambda: f"{_json64({'alg': 'None'})}.{body}.{sig}",
        "wrong key": lambda: _signed(c(), "an attacker's key of thirty-two chars!!"),
        "HS512 with our key": lambda: _signed(c(), algorithm="HS512"),
        "HS384 with our key": lambda: _signed(c(), algorithm="HS384"),
        "RS256 with an attacker's key": lambda: jwt.encode(c(), _rsa_key(), algorithm="RS256"),
        "EdDSA with an attacker's key": lambda: jwt.encode(
            c(), ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA"
        ),
        "HS256 keyed with an RSA public key (HS/RS confusion)": lambda: _hmac_with(c(), public_pem),
        "wrong audience": lambda: _signed(c(aud="another-api")),
        "audience list": lambda: _signed(c(aud=["socapp-api", "another-api"])),
        "no audience": lambda: _signed(c(aud=None)),
        "wrong issuer": lambda: _signed(c(iss="https://idp.example.test")),
        "no issuer": lambda: _signed(c(iss=None)),
        "expired": lambda: _signed(c(iat=int(time.time()) - 900, exp=int(time.time()) - 60)),
        "no expiry": lambda: _signed(c(exp=None)),
        "nbf in the future": lambda: _signed(c(nbf=int(time.time()) + 3600)),
        "iat in the future": lambda: _signed(c(iat=int(time.time()) + 3600)),
        "tampered payload (another user)": lambda: f"{head}.{_json64(c(sub=theirs['sub']))}.{sig}",
        "tampered payload (later expiry)": lambda: f"{head}.{_json64(c(exp=2**40))}.{sig}",
        "tampered header (kid added)": lambda: f"{_json64(HS256 | {'kid': '1'})}.{body}.{sig}",
        "kid header, our key": lambda: _signed(c(), kid="../../dev/null"),
        "jku header, our key": lambda: _signed(c(), jku="https://attacker.example.test/jwks"),
        "x5u header, our key": lambda: _signed(c(), x5u="https://attacker.example.test/cert"),
        "jwk header, our key": lambda: _signed(c(), jwk={"kty": "oct", "k": _b64(b"k" * 32)}),
        "crit header, our key": lambda: _signed(c(), crit=["exp"]),
        "typ JWS": lambda: _signed(c(), typ="JWS"),
        "refresh token use": lambda: _signed(c(use="refresh", gen=0)),
        "no use": lambda: _signed(c(use=None)),
        "no password fingerprint": lambda: _signed(c(pwd=None)),
        "stale password fingerprint": lambda: _signed(c(pwd="0" * 32)),
        "unknown session": lambda: _signed(c(sid=str(uuid.uuid4()))),
        "session not a uuid": lambda: _signed(c(sid="1 OR 1=1")),
        "another user's session": lambda: _signed(c(sid=theirs["sid"])),
        "another user's sub": lambda: _signed(c(sub=theirs["sub"])),
        "sub not a string": lambda: _signed(c(sub=int(theirs["sub"]))),
        "garbage in JWT shape": lambda: "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
        "header not JSON": lambda: f"eyJ{_b64(b'garbage')}.{body}.{sig}",
        "oversized": lambda: _signed(c(pad="x" * 5000)),
    }


# Why each forgery is refused (the first check it fails): a refusal for another reason
# would mean the case does not test what its name says.
REASONS = {
    "alg none": "not signed with HS256",
    "alg None, signature kept": "not signed with HS256",
    "wrong key": "signature does not verify",
    "HS512 with our key": "not signed with HS256",
    "HS384 with our key": "not signed with HS256",
    "RS256 with an attacker's key": "not signed with HS256",
    "EdDSA with an attacker's key": "not signed with HS256",
    "HS256 keyed with an RSA public key (HS/RS confusion)": "signature does not verify",
    "wrong audience": "(audience)",
    "audience list": "(audience)",
    "no audience": "lacks a required claim",
    "wrong issuer": "(issuer)",
    "no issuer": "lacks a required claim",
    "expired": "has expired",
    "no expiry": "lacks a required claim",
    "nbf in the future": "not valid yet",
    "iat in the future": "not valid yet",
    "tampered payload (another user)": "signature does not verify",
    "tampered payload (later expiry)": "signature does not verify",
    "tampered header (kid added)": "does not accept: kid",
    "kid header, our key": "does not accept: kid",
    "jku header, our key": "does not accept: jku",
    "x5u header, our key": "does not accept: x5u",
    "jwk header, our key": "does not accept: jwk",
    "crit header, our key": "Malformed token",
    "typ JWS": "(typ)",
    "refresh token use": "This is a refresh token",
    "no use": "lacks a required claim",
    "no password fingerprint": "lacks a required claim",
    "stale password fingerprint": "password was changed",
    "unknown session": "session does not exist",
    "session not a uuid": "Malformed token",
    "another user's session": "session does not exist",
    "another user's sub": "session does not exist",
    "sub not a string": "Malformed token",
    "garbage in JWT shape": "signature does not verify",
    "header not JSON": "Malformed token",
    "oversized": "Malformed token",
}


def _hmac_with(claims: dict, pem: bytes) -> str:
    """HS256 keyed with a PEM public key: PyJWT refuses to sign it that way, so by hand."""
    import hashlib
    import hmac

    signing_input = f"{_json64(HS256)}.{_json64(claims)}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


# The HS512 forgery uses our 53-byte key, short for SHA-512 (that is the point of it).
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_forged_and_invalid_tokens_are_all_refused(integration, analyst_a, jwt_on):
    genuine = pair_for("integration")
    forgeries = _forgeries(genuine["access"], pair_for("analyst_a")["access"])
    jwt_on.TOKEN_FAILURE_LIMIT = 10**6  # this test counts refusals, not the throttle
    accepted, reasons = {}, {}
    for name, forge in forgeries.items():
        answer = bearer(forge())
        if answer.status_code != 401:
            accepted[name] = answer.status_code
            continue
        assert answer["WWW-Authenticate"] == 'Bearer realm="api"', name
        reasons[name] = answer.json()["detail"]
    assert accepted == {}, f"{len(accepted)} of {len(forgeries)} forgeries got in: {accepted}"
    assert len(forgeries) >= 35 and forgeries.keys() == REASONS.keys()
    wrong = {n: r for n, r in reasons.items() if REASONS[n] not in r}
    assert wrong == {}, "refused, but not for the reason the case is about"
    # Each refusal was a token failure for the audit log (bounded burst: see audit_access),
    # and none of them recorded any part of a token.
    failures = AuditEntry.objects.filter(action="auth.token_failed")
    assert failures.count() == jwt_on.AUDIT_FAILURE_BURST
    assert all(e.changes["token"].startswith("(") for e in failures)
    # The genuine token still works.
    assert bearer(genuine["access"]).status_code == 200


def test_forged_refresh_tokens_are_refused_and_spend_nothing(integration, jwt_on):
    pair = pair_for("integration")
    head, body, sig = pair["refresh"].split(".")
    claims = claims_of(pair["refresh"])
    for forged in (
        f"{head}.{_json64({**claims, 'gen': claims['gen'] + 1})}.{sig}",
        _signed({**claims, "gen": 5}, "an attacker's key of thirty-two chars!!"),
        f"{_json64({'alg': 'none'})}.{body}.",
        _signed({**claims, "use": "access"}),
    ):
        assert refresh(forged).status_code == 401
    assert refresh(pair["refresh"]).status_code == 200


def test_refused_jwts_count_toward_the_token_throttle(integration, jwt_on):
    jwt_on.TOKEN_FAILURE_LIMIT = 3
    good = pair_for("integration")
    bad = good["access"][:-4] + "AAAA"
    assert [bearer(bad).status_code for _ in range(3)] == [401, 401, 401]
    throttled = bearer(good["access"])
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert refresh(good["refresh"]).status_code == 429
    # Another address is not affected.
    assert bearer(good["access"], REMOTE_ADDR="198.51.100.9").status_code == 200


def test_an_admin_revokes_a_session_in_the_admin(integration, soc_admin, jwt_on):
    pair = pair_for("integration")
    admin = Client()
    admin.force_login(soc_admin)
    session = JwtSession.objects.get()
    assert "integration" in admin.get("/admin/socapp/jwtsession/").content.decode()
    answer = admin.post(
        "/admin/socapp/jwtsession/", {"action": "revoke", "_selected_action": [session.pk]}
    )
    assert answer.status_code == 302
    assert bearer(pair["access"]).status_code == 401
    assert refresh(pair["refresh"]).status_code == 401
    entry = AuditEntry.objects.get(action="auth.jwt_revoked")
    assert entry.actor == soc_admin and entry.changes["reason"] == "revoked by an admin"


def test_a_jwt_request_costs_one_lookup_of_session_and_user(integration, jwt_on):
    """Reading the user from the database on every request is one query (the session
    joined to its user), no more than a personal token's lookup."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    access = pair_for("integration")["access"]
    _, personal = api_token_create(user=integration, actor=integration, expires_days=1)
    bearer(personal)  # its first use records last_used_at; count a later one
    counts, captured = {}, {}
    for kind, token in (("jwt", access), ("personal", personal)):
        with CaptureQueriesContext(connection) as queries:
            assert bearer(token).status_code == 200
        counts[kind], captured[kind] = len(queries), queries.captured_queries
    lookups = [q["sql"] for q in captured["jwt"] if "socapp_jwtsession" in q["sql"]]
    assert len(lookups) == 1 and "auth_user" in lookups[0]  # one query: session and user
    assert counts["jwt"] <= counts["personal"], counts
