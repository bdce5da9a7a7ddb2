"""Every console page checks login and permission on the view itself.

Each page URL pattern of the site must be listed in PAGES with what it is: a page
that shows SOC data ("read"), one that changes something ("write"), or one that only
keeps the user's own preferences ("personal"). A new page without an entry fails here,
so nobody adds a page without deciding who may use it. Then, through the test client:
anonymous visitors are sent to the login page, a logged-in user without a role is
refused everything, and the read-only auditor is refused every change.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# url name -> what the page does.
PAGES = {
    "events:upload": "write",
    "events:search": "read",
    "events:search_export": "read",
    "events:save_search": "personal",
    "rules:list": "read",
    "rules:new": "write",
    "rules:coverage": "read",
    "rules:detail": "read",
    "rules:edit": "write",
    "rules:toggle": "write",
    "rules:backtest": "write",  # runs work on the server; needs backtest_correlationrule
    "assets:list": "read",
    "assets:detail": "read",
    "assets:discovered": "read",
    "assets:new": "write",
    "assets:edit": "write",
    "assets:import": "write",
    "intel:iocs": "read",
    "intel:ioc": "read",
    "intel:feeds": "read",
    "intel:feed": "read",
    "intel:feed_new": "write",
    "intel:feed_edit": "write",
    "intel:feed_fetch": "write",
    "intel:import": "write",
    "assets:vulnerabilities": "read",
    "assets:vuln_import": "write",
    "alerts:queue": "read",
    "alerts:rows": "read",
    "alerts:bulk": "write",
    "alerts:save_view": "personal",
    "alerts:delete_view": "personal",
    "alerts:mutes": "read",
    "alerts:lift_mute": "write",
    "alerts:detail": "read",
    "alerts:preview": "read",
    "alerts:triage": "write",
    "incidents:list": "read",
    "incidents:new": "write",
    "incidents:detail": "read",
    "incidents:timeline": "read",
    "incidents:actions": "read",
    "incidents:evidence": "read",
    "incidents:report_pdf": "read",
    "incidents:report_csv": "read",
    "incidents:change": "write",
    "reports:index": "read",
    "reports:summary_pdf": "read",
    "reports:summary_csv": "read",
    "audit:log": "read",
    "entities:ip": "read",
    "entities:user": "read",
    "entities:host": "read",
}
# Pages for everyone logged in (they say so when the user has no role), and paths that
# authenticate on their own (API, admin, Splunk HEC, the login page itself).
# The second-factor page and its QR code are the user's own account (anyone may enrol),
# and so is the preferences page (one's own time zone).
OPEN_TO_ANY_LOGIN = {
    "home",
    "dashboard",
    "api-docs",
    "api-redoc",
    "logout",
    "severity-css",
    "two_factor",
    "two_factor_qr",
    "preferences",
}
OWN_AUTHENTICATION = ("api/", "admin/", "services/", "accounts/login/")
# Public, like the static files it points to: the icon (the login page shows it too).
PUBLIC = {"favicon"}

SAMPLE_ARGUMENTS = {
    "uuid": str(uuid.uuid4()),
    "number": "INC-2026-0001",
    "action": "acknowledge",
    "value": "10.0.0.1",
}


def _patterns(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner or "")
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            yield prefix + str(pattern.pattern), name


def _url(route: str) -> str:
    def fill(match: re.Match) -> str:
        converter, name = match.group(1), match.group(2)
        return SAMPLE_ARGUMENTS["uuid"] if converter == "uuid" else SAMPLE_ARGUMENTS[name]

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


def page_routes() -> list[tuple[str, str]]:
    return [
        (route, name)
        for route, name in _patterns(get_resolver().url_patterns)
        if not route.startswith(OWN_AUTHENTICATION)
        and name not in OPEN_TO_ANY_LOGIN
        and name not in PUBLIC
    ]


def test_every_page_has_a_policy_entry():
    names = {name for _, name in page_routes()}
    assert names - PAGES.keys() == set(), "pages without an entry in PAGES"
    assert PAGES.keys() - names == set(), "entries of PAGES that are no page"


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), page_routes(), ids=lambda v: v)
def test_anonymous_visitors_are_sent_to_the_login_page(route, name):
    for method in (Client().get, Client().post):
        response = method(_url(route))
        assert response.status_code == 302, (name, method)
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), page_routes(), ids=lambda v: v)
def test_a_user_without_a_role_is_refused_every_page(nobody, route, name):
    client = Client()
    client.force_login(nobody)
    # 403, before any lookup (a 404 would mean the object was looked for first); a
    # POST-only page may answer a GET with 405.
    assert client.get(_url(route)).status_code in (403, 405), name
    assert client.post(_url(route)).status_code == 403, name


WRITES = [(route, name) for route, name in page_routes() if PAGES.get(name) == "write"]


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), WRITES, ids=lambda v: v)
def test_the_auditor_is_refused_every_change(auditor, route, name):
    client = Client()
    client.force_login(auditor)
    assert client.post(_url(route), {"save": ""}).status_code == 403, name


@pytest.mark.django_db
def test_the_icon_is_public_and_read_only(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/img/favicon.svg"
    assert client.get(response["Location"]).status_code == 200
    assert client.post("/favicon.ico").status_code == 405
