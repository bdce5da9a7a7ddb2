"""JWTs for integrations: exchange a password (and a code, for users with a second
factor) for a short-lived access token and a single-use refresh token; refresh; sign
out. All three answer 404 unless JWT_ENABLED (docs/API.md, docs/SECURITY.md "JWT").

The exchange goes through ``django.contrib.auth.authenticate`` with the request, so the
login lockout (django-axes) counts and locks it exactly as it does the login page, and
failures are audited as failed logins. Refresh and sign-out failures count in the
bearer-token throttle of the client address and are audited as token failures.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..audit import request_addr
from ..audit_access import audit_token_failure
from ..jwt_sessions import JwtSessionRefused, jwt_refresh, jwt_revoke, jwt_session_open
from ..jwt_tokens import IssuedPair, JwtRefused
from ..second_factor import code_verify, has_second_factor, second_factor_required
from ..throttling import TOO_MANY, token_failure_record, token_failures_wait

NOT_ENABLED = "JWTs are not enabled on this socapp (JWT_ENABLED)."
WRONG_PASSWORD = "Wrong username or password."  # noqa: S105  a message, not a secret


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1024, trim_whitespace=False)
    otp = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="The current code of the user's authenticator app, or a backup code; "
        "required when the user has a second factor.",
    )


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096, help_text="The newest refresh token.")


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Single use: each refresh returns a new one.")
    token_type = serializers.CharField(help_text="Always `Bearer`.")
    expires_in = serializers.IntegerField(help_text="Seconds the access token lives.")
    refresh_expires_in = serializers.IntegerField(help_text="Seconds the refresh token lives.")


_NOT_ENABLED = OpenApiResponse(
    response=inline_serializer("JwtNotEnabled", {"detail": serializers.CharField()}),
    description="JWTs are off (JWT_ENABLED is false).",
)


def _pair(pair: IssuedPair) -> dict[str, Any]:
    return {
        "access": pair.access,
        "refresh": pair.refresh,
        "token_type": "Bearer",
        "expires_in": settings.JWT_ACCESS_TOKEN_SECONDS,
        "refresh_expires_in": settings.JWT_REFRESH_TOKEN_SECONDS,
    }


def _unauthorized(detail: str) -> Response:
    return Response(
        {"detail": detail},
        status=status.HTTP_401_UNAUTHORIZED,
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


class _JwtView(APIView):
    """No credentials are read from the request's headers: the body is the credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not settings.JWT_ENABLED:
            raise exceptions.NotFound(NOT_ENABLED)
        super().initial(request, *args, **kwargs)


class TokenObtainView(_JwtView):
    """Exchange a username and password (plus `otp`, the current code, for a user with a
    second factor) for an access token (`expires_in` seconds) and a refresh token. Wrong
    passwords and codes count toward the login lockout of the login page: past it, 429
    with Retry-After, the right password too. The token carries no roles: every request
    acts with the user's roles and permissions as they are then."""

    @extend_schema(
        operation_id="auth_token_obtain",
        summary="Exchange a password (and a code) for an access token and a refresh token",
        request=TokenObtainSerializer,
        responses={200: TokenPairSerializer, 404: _NOT_ENABLED},
    )
    def post(self, request: Request) -> Response:
        body = TokenObtainSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        # The HttpRequest: django-axes marks it, and its middleware turns a locked
        # login into a 429 (socapp.lockout.locked_out_response).
        http_request = request._request
        user = authenticate(http_request, username=data["username"], password=data["password"])
        if user is None:
            return _unauthorized(WRONG_PASSWORD)
        device = None
        if has_second_factor(user):
            if not data.get("otp"):
                return _unauthorized(
                    "This account has a second factor: send its current code as `otp`."
                )
            device = code_verify(request=http_request, user=user, code=data["otp"])
            if device is None:
                return _unauthorized("Wrong code.")
        elif second_factor_required(user):
            raise exceptions.PermissionDenied(
                "Your role needs a second factor: set one up at /accounts/two-factor/ first."
            )
        pair = jwt_session_open(
            user=user, address=request_addr(request), second_factor=device is not None
        )
        # As after a login: this account's failures at this address are forgotten.
        AxesProxyHandler.user_logged_in(sender=type(self), request=http_request, user=user)
        return Response(_pair(pair))


class _RefreshTokenView(_JwtView):
    """A refresh token in the body: throttled and audited like a bearer token."""

    def _spend(self, request: Request, spend: Any) -> Any:
        address = request_addr(request)
        wait = token_failures_wait(address)
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail=TOO_MANY)
        body = RefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token = body.validated_data["refresh"]
        try:
            return spend(token=token)
        except JwtRefused as exc:
            refused = exc.refused if isinstance(exc, JwtSessionRefused) else None
            audit_token_failure(
                request,
                reason=str(exc),
                presented=token,
                user=refused.user if refused else None,
                target=refused.session if refused else None,
            )
            token_failure_record(address)
            raise _Refused(str(exc)) from exc


class _Refused(Exception):
    pass


class TokenRefreshView(_RefreshTokenView):
    """A new access token and refresh token for the newest refresh token, which is spent:
    presenting a spent one again revokes the whole session (its access tokens too), as
    it means someone else holds a copy. Refused tokens count toward the bearer-token
    throttle of the address (429 past it)."""

    @extend_schema(
        operation_id="auth_token_refresh",
        summary="A new access token and refresh token for a refresh token (spent then)",
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, 404: _NOT_ENABLED},
    )
    def post(self, request: Request) -> Response:
        try:
            return Response(_pair(self._spend(request, jwt_refresh)))
        except _Refused as exc:
            return _unauthorized(str(exc))


class TokenRevokeView(_RefreshTokenView):
    """Sign out: end the session of a refresh token; its access tokens stop working."""

    @extend_schema(
        operation_id="auth_token_revoke",
        summary="Sign out: end the session of a refresh token, its access tokens included",
        request=RefreshSerializer,
        responses={204: None, 404: _NOT_ENABLED},
    )
    def post(self, request: Request) -> Response:
        try:
            self._spend(request, jwt_revoke)
        except _Refused as exc:
            return _unauthorized(str(exc))
        return Response(status=status.HTTP_204_NO_CONTENT)
