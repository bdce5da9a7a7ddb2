"""JWTs for integrations: how they are made and checked, before any database lookup.

PyJWT does the signing and the standard claim checks; what socapp adds is the refusals
PyJWT leaves to its caller (ASVS 5 V9):

* One algorithm, HS256, with JWT_SIGNING_KEY. ``algorithms=[HS256]`` is passed on every
  decode, so ``alg: none``, another HMAC size and any public-key algorithm (the HS/RS
  confusion) are refused before a signature is computed.
* The header may hold ``alg`` and ``typ: JWT`` and nothing else: ``kid``, ``jku``,
  ``x5u``, ``jwk``, ``x5c``, ``crit``, ... are refused, so no header can point at a key.
* ``iss`` and ``aud`` must be ours; ``exp``, ``nbf`` and ``iat`` are required and
  checked (``CLOCK_SKEW_SECONDS`` of leeway between our own processes' clocks).
* ``use`` says ``access`` or ``refresh``, and each endpoint takes only its own.
* ``pwd`` is a keyed fingerprint of the user's password hash at issue time: a password
  change (a new salt, even for the same password) refuses every token issued before.

No roles or permissions are in a token: who may do what is read from the database on
every request (``socapp.jwt_sessions``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .users import User

ALGORITHM = "HS256"
HEADER_KEYS = frozenset({"alg", "typ"})
ACCESS = "access"
REFRESH = "refresh"
CLOCK_SKEW_SECONDS = 5
# Ours are ~400 characters; anything much longer is not worth decoding.
MAX_LENGTH = 2048
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "use", "pwd"]

# Three base64url parts, the first a JSON object ('{"' is 'eyJ'): never a socapp_ token.
_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class JwtRefused(Exception):
    """A token that does not get in; the message says why (it becomes the 401's)."""


def looks_like_jwt(token: str) -> bool:
    return _SHAPE.fullmatch(token) is not None


def _key() -> str:
    key = settings.JWT_SIGNING_KEY
    if len(key) < 32 or key == settings.SECRET_KEY:
        raise ImproperlyConfigured("JWT_SIGNING_KEY must be 32+ characters and not SECRET_KEY")
    return key


def password_fingerprint(user: User) -> str:
    """What a token remembers of its user's password: a keyed digest of the stored hash,
    so the token tells nothing about the password and changes with every new hash."""
    return hmac.new(
        _key().encode(), f"pwd:{user.pk}:{user.password}".encode(), hashlib.sha256
    ).hexdigest()[:32]


@dataclass(frozen=True)
class IssuedPair:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime


def issue_pair(*, user: User, session_id: uuid.UUID, generation: int, now: datetime) -> IssuedPair:
    """A new access token and refresh token of one session (the refresh token carries
    the session's current generation)."""
    access_exp = now + timedelta(seconds=settings.JWT_ACCESS_TOKEN_SECONDS)
    refresh_exp = now + timedelta(seconds=settings.JWT_REFRESH_TOKEN_SECONDS)
    common = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "sub": str(user.pk),
        "iat": now,
        "nbf": now,
        "sid": str(session_id),
        "pwd": password_fingerprint(user),
    }
    access = {**common, "exp": access_exp, "jti": uuid.uuid4().hex, "use": ACCESS}
    refresh = {
        **common,
        "exp": refresh_exp,
        "jti": uuid.uuid4().hex,
        "use": REFRESH,
        "gen": generation,
    }
    return IssuedPair(
        access=_encode(access),
        refresh=_encode(refresh),
        access_expires_at=access_exp,
        refresh_expires_at=refresh_exp,
    )


def _encode(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, _key(), algorithm=ALGORITHM, headers={"typ": "JWT"})


_PYJWT_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "This token has expired."),
    (jwt.ImmatureSignatureError, "This token is not valid yet."),
    (jwt.InvalidAudienceError, "This token is not for this API (audience)."),
    (jwt.InvalidIssuerError, "This token was not issued by socapp (issuer)."),
    (jwt.InvalidSignatureError, "This token's signature does not verify."),
    (jwt.InvalidAlgorithmError, f"This token is not signed with {ALGORITHM}."),
    (jwt.MissingRequiredClaimError, "This token lacks a required claim."),
)


def _check_header(token: str) -> None:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise JwtRefused("Malformed token.") from exc
    if set(header) - HEADER_KEYS:
        names = ", ".join(sorted(str(k)[:20] for k in set(header) - HEADER_KEYS)[:5])
        raise JwtRefused(f"This token's header names what socapp does not accept: {names}.")
    if header.get("alg") != ALGORITHM:
        raise JwtRefused(f"This token is not signed with {ALGORITHM}.")
    if header.get("typ", "JWT") != "JWT":
        raise JwtRefused("This token is not a JWT (typ).")


def decode(token: str, *, use: str) -> dict[str, Any]:
    """The claims of a token of ours meant for ``use``; JwtRefused says why not."""
    if len(token) > MAX_LENGTH or not looks_like_jwt(token):
        raise JwtRefused("Malformed token.")
    _check_header(token)
    try:
        claims = jwt.decode(
            token,
            _key(),
            algorithms=[ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": REQUIRED_CLAIMS, "strict_aud": True},
        )
    except jwt.PyJWTError as exc:
        for kind, reason in _PYJWT_REASONS:
            if isinstance(exc, kind):
                raise JwtRefused(reason) from exc
        raise JwtRefused("Malformed token.") from exc
    if claims.get("use") != use:
        raise JwtRefused(
            "This is a refresh token; send it to /api/v1/auth/token/refresh/ only."
            if use == ACCESS
            else "This is not a refresh token."
        )
    if not _well_typed(claims, use):
        raise JwtRefused("Malformed token.")
    return claims


def _well_typed(claims: dict[str, Any], use: str) -> bool:
    try:
        uuid.UUID(str(claims["sid"]))
    except ValueError:
        return False
    if not (isinstance(claims["sub"], str) and isinstance(claims["pwd"], str)):
        return False
    return use != REFRESH or (isinstance(claims.get("gen"), int) and claims["gen"] >= 0)
