"""JWT sessions: exchanging a password for tokens, refreshing them, revoking them, and
who a presented access token is.

A session (``JwtSession``) is one password exchange and its chain of refresh tokens.
Every access token names its session, and every request loads the session with its
user in one query: a revoked session, a deactivated user, a changed password refuse
the token at once (not when it expires), and the user's roles and permissions are the
ones in the database now, never anything the token says.

Refresh tokens are single-use. A refresh moves the session's generation on (under a
row lock, so two concurrent uses of one token cannot both succeed); a refresh token of
an older generation is one that was used already, so whoever presents it holds a copy:
the session is revoked, access tokens included, and the reuse is audited. The legitimate
holder then has to sign in with the password again, which is the point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .audit import audit_record
from .jwt_tokens import ACCESS, REFRESH, IssuedPair, JwtRefused, decode, issue_pair
from .jwt_tokens import password_fingerprint as fingerprint
from .models import AuditEntry, JwtSession
from .users import User

REUSED = "A refresh token was used twice; the session is revoked."


@dataclass(frozen=True)
class Refused:
    """Why a token was refused, and whose it was when we know (for the audit entry)."""

    reason: str
    user: Any = None
    session: JwtSession | None = None


class JwtSessionRefused(JwtRefused):
    def __init__(self, refused: Refused) -> None:
        super().__init__(refused.reason)
        self.refused = refused


def jwt_session_open(*, user: User, address: str | None, second_factor: bool) -> IssuedPair:
    """A new session for ``user`` (whose password, and code if they have a device, were
    just checked) and its first pair of tokens. Beyond JWT_MAX_SESSIONS_PER_USER live
    sessions the oldest are revoked; the user's dead sessions are deleted, so the table
    holds at most that many rows per user plus what died since their last exchange."""
    now = timezone.now()
    with transaction.atomic():
        session = JwtSession.objects.create(
            user=user,
            expires_at=now + _refresh_lifetime(),
            created_addr=address,
        )
        _prune(user, now)
        audit_record(
            actor=user,
            action="auth.jwt_issued",
            target=session,
            changes={"second_factor": second_factor},
        )
    return issue_pair(user=user, session_id=session.pk, generation=0, now=now)


def _refresh_lifetime() -> timedelta:
    return timedelta(seconds=settings.JWT_REFRESH_TOKEN_SECONDS)


def _prune(user: User, now: datetime) -> None:
    sessions = JwtSession.objects.filter(user=user)
    sessions.filter(expires_at__lte=now).delete()
    sessions.filter(revoked_at__lte=now - _refresh_lifetime()).delete()
    live = sessions.filter(revoked_at__isnull=True).order_by("-created_at")
    surplus = list(live.values_list("pk", flat=True)[settings.JWT_MAX_SESSIONS_PER_USER :])
    if surplus:
        JwtSession.objects.filter(pk__in=surplus).update(
            revoked_at=now, revoke_reason="too many sessions: the oldest went"
        )


def _check_session(session: JwtSession | None, claims: dict[str, Any]) -> Refused | None:
    if session is None or str(session.user_id) != claims["sub"]:
        return Refused("This token's session does not exist (any more).")
    user = session.user
    if session.revoked_at is not None:
        return Refused(f"This token's session was revoked: {session.revoke_reason}", user, session)
    if not user.is_active:
        return Refused("The user of this token is deactivated.", user, session)
    if claims["pwd"] != fingerprint(user):
        return Refused("The password was changed after this token was issued.", user, session)
    return None


def jwt_user(token: str) -> tuple[Any, JwtSession]:
    """The user an access token acts for, as the database has them now; raises
    JwtRefused (a JwtSessionRefused when the token was ours) when it gets no one."""
    claims = decode(token, use=ACCESS)
    session = JwtSession.objects.select_related("user").filter(pk=claims["sid"]).first()
    refused = _check_session(session, claims)
    if refused is not None:
        raise JwtSessionRefused(refused)
    assert session is not None
    return session.user, session


def _spend(claims: dict[str, Any], now: Any) -> JwtSession | Refused:
    """Lock the session of a refresh token and check it; a spent token revokes it."""
    session = (
        JwtSession.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=claims["sid"])
        .first()
    )
    refused = _check_session(session, claims)
    if refused is not None:
        return refused
    assert session is not None
    if claims["gen"] != session.generation:
        return _revoke_reused(session, claims, now)
    return session


def jwt_refresh(*, token: str) -> IssuedPair:
    """A new pair for a refresh token, which is then spent. A spent one revokes its
    session (and is audited as reuse)."""
    claims = decode(token, use=REFRESH)
    now = timezone.now()
    with transaction.atomic():
        result = _spend(claims, now)
        if isinstance(result, JwtSession):
            result.generation += 1
            result.refreshed_at = now
            result.expires_at = now + _refresh_lifetime()
            result.save(update_fields=["generation", "refreshed_at", "expires_at"])
    if isinstance(result, Refused):  # raised once the revocation is committed
        raise JwtSessionRefused(result)
    return issue_pair(user=result.user, session_id=result.pk, generation=result.generation, now=now)


def _revoke_reused(session: JwtSession, claims: dict[str, Any], now: Any) -> Refused:
    session.revoked_at = now
    session.revoke_reason = "a refresh token was used twice"
    session.save(update_fields=["revoked_at", "revoke_reason"])
    audit_record(
        actor=session.user,
        action="auth.jwt_refresh_reused",
        target=session,
        changes={"presented_generation": claims["gen"], "current_generation": session.generation},
        result=AuditEntry.Result.DENIED,
    )
    return Refused(REUSED, session.user, session)


def jwt_revoke(*, token: str) -> JwtSession:
    """End the session of a refresh token (an integration signing out)."""
    claims = decode(token, use=REFRESH)
    with transaction.atomic():
        result = _spend(claims, timezone.now())
        if isinstance(result, JwtSession):
            jwt_session_revoke(session=result, actor=result.user, reason="signed out by its holder")
    if isinstance(result, Refused):
        raise JwtSessionRefused(result)
    return result


def jwt_session_revoke(*, session: JwtSession, actor: User, reason: str) -> JwtSession:
    """Revoke a session (its holder signing out, or an admin)."""
    if session.revoked_at is None:
        with transaction.atomic():
            session.revoked_at = timezone.now()
            session.revoke_reason = reason[:200]
            session.save(update_fields=["revoked_at", "revoke_reason"])
            audit_record(
                actor=actor,
                action="auth.jwt_revoked",
                target=session,
                changes={"user": session.user.get_username(), "reason": reason[:200]},
            )
    return session
