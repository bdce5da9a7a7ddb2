"""DRF authentication by bearer token: a personal API token
(``Authorization: Bearer socapp_pat_...``) or, when JWT_ENABLED, a JWT from
/api/v1/auth/token/ (told apart by shape: three base64url parts, ``eyJ...``).

Refused tokens of both kinds are counted per client address; past the limit the
address gets 429 with Retry-After before any lookup (socapp/throttling.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .audit import request_addr
from .audit_access import audit_token_failure
from .jwt_sessions import JwtSessionRefused, jwt_user
from .jwt_tokens import JwtRefused, looks_like_jwt
from .models import ApiToken
from .throttling import TOO_MANY, token_failure_record, token_failures_wait
from .tokens import PERSONAL_PREFIX, SOURCE_PREFIX, bearer_token_from_header, token_digest

# last_used_at is informational; writing it on every request would turn reads into writes.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Model] | None:
        token = bearer_token_from_header(request.META.get("HTTP_AUTHORIZATION"))
        if token is None:
            return None
        address = request_addr(request)
        wait = token_failures_wait(address)
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail=TOO_MANY)
        try:
            if looks_like_jwt(token):
                return self._jwt_user(request, token)
            api_token = self._valid_token(request, token)
        except exceptions.AuthenticationFailed:
            token_failure_record(address)
            raise
        self._touch(api_token)
        return api_token.user, api_token

    @staticmethod
    def _jwt_user(request: Request, token: str) -> tuple[Any, Model]:
        if not settings.JWT_ENABLED:
            raise _refused(request, token, "JWTs are not accepted here (JWT_ENABLED is off).")
        try:
            return jwt_user(token)
        except JwtSessionRefused as exc:
            refused = exc.refused
            raise _refused(request, token, refused.reason, refused.user, refused.session) from exc
        except JwtRefused as exc:
            raise _refused(request, token, str(exc)) from exc

    @staticmethod
    def _valid_token(request: Request, token: str) -> ApiToken:
        if token.startswith(SOURCE_PREFIX):
            raise _refused(
                request,
                token,
                "This is a source ingest token; it can only send events to the ingest "
                "endpoints. Use a personal API token (manage.py token_create).",
            )
        if not token.startswith(PERSONAL_PREFIX):
            raise _refused(request, token, "Malformed API token.")
        api_token = (
            ApiToken.objects.select_related("user").filter(digest=token_digest(token)).first()
        )
        if api_token is None:
            raise _refused(request, token, "Unknown API token.")
        for refused, reason in (
            (api_token.revoked_at is not None, "This API token has been revoked."),
            (api_token.is_expired, "This API token has expired."),
            (not api_token.user.is_active, "The user of this API token is deactivated."),
        ):
            if refused:
                raise _refused(request, token, reason, api_token.user, api_token)
        return api_token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'

    @staticmethod
    def _touch(api_token: ApiToken) -> None:
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)


def _refused(
    request: Request, token: str, reason: str, user: Any = None, target: Model | None = None
) -> exceptions.AuthenticationFailed:
    """The 401 for a token that did not get in, its use audited (bounded: see
    socapp.audit_access)."""
    audit_token_failure(request, reason=reason, presented=token, user=user, target=target)
    return exceptions.AuthenticationFailed(reason)
