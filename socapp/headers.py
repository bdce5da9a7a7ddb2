"""Content-Security-Policy and Permissions-Policy on every response.

Our own small middleware rather than django-csp: socapp's pages carry no inline script
or style at all (scripts and styles are files under static/, data travels in
``json_script`` islands and data- attributes), so the nonce machinery django-csp brings
is not needed; what is needed is (1) the websocket origin of the request's own host in
``connect-src``, (2) a relaxation scoped to a path prefix for third-party pages we do
not template (Swagger UI's data: icons), and (3) Permissions-Policy beside it. That is
thirty lines. The settings use the directive -> sources dict of django-csp 4 and of
Django 6's built-in ``SECURE_CSP``, so moving to either later is a rename.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

Policy = Mapping[str, Sequence[str]]


def render_policy(policy: Policy) -> str:
    return "; ".join(
        " ".join([directive, *sources]) for directive, sources in policy.items() if sources
    )


def render_permissions(features: Mapping[str, Sequence[str]]) -> str:
    """``camera=(), geolocation=()``: an empty list denies the feature everywhere."""
    return ", ".join(f"{name}=({' '.join(allow)})" for name, allow in features.items())


def _merged(base: Policy, extra: Policy) -> dict[str, list[str]]:
    merged = {directive: list(sources) for directive, sources in base.items()}
    for directive, sources in extra.items():
        present = merged.setdefault(directive, [])
        present += [source for source in sources if source not in present]
    return merged


def policy_for(request: HttpRequest) -> dict[str, list[str]]:
    """The CSP of this request: the strict base, the relaxation of the one path prefix
    that matches (if any), and this host's websocket origin in connect-src."""
    policy = _merged(settings.CONTENT_SECURITY_POLICY, {})
    for prefix, extra in settings.CONTENT_SECURITY_POLICY_PATHS.items():
        if request.path_info.startswith(prefix):
            policy = _merged(policy, extra)
            break
    try:
        host = request.get_host()
    except DisallowedHost:  # the 400 for a bad Host still gets the base policy
        return policy
    # 'self' covers ws(s) of the same host in CSP 3; older engines need it spelled out.
    scheme = "wss" if request.is_secure() else "ws"
    return _merged(policy, {"connect-src": [f"{scheme}://{host}"]})


class SecurityHeadersMiddleware:
    """Sets both headers unless the view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.permissions = render_permissions(settings.PERMISSIONS_POLICY)
        self.csp_header = (
            "Content-Security-Policy-Report-Only"
            if settings.CONTENT_SECURITY_POLICY_REPORT_ONLY
            else "Content-Security-Policy"
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.csp_header not in response:
            response[self.csp_header] = render_policy(policy_for(request))
        if self.permissions and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.permissions
        return response
