"""Content-Security-Policy and Permissions-Policy on every page (Django test client),
the scoped relaxation of the API documentation, the severity stylesheet that replaced
inline styles, and a scan of every template for what the policy would block."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from incidents.models import Severity
from tests.conftest import ROOT
from tests.factories import CorrelationRuleFactory, IncidentFactory

TEMPLATES = ROOT / "templates"
STRICT = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}
DENIED_FEATURES = ("camera", "microphone", "geolocation", "payment", "usb", "serial", "hid")


def parse_csp(header: str) -> dict[str, set[str]]:
    policy = {}
    for part in header.split(";"):
        directive, *sources = part.split()
        policy[directive] = set(sources)
    return policy


def assert_strict(response, *, host: str = "testserver", scheme: str = "ws") -> dict:
    policy = parse_csp(response["Content-Security-Policy"])
    for directive, sources in STRICT.items():
        assert policy[directive] == sources, (directive, policy[directive])
    assert policy["connect-src"] == {"'self'", f"{scheme}://{host}"}
    everything = " ".join(" ".join(sources) for sources in policy.values())
    assert "unsafe-inline" not in everything and "unsafe-eval" not in everything
    assert "*" not in everything.split() and "data:" not in everything
    permissions = response["Permissions-Policy"]
    for feature in DENIED_FEATURES:
        assert f"{feature}=()" in permissions
    return policy


@pytest.mark.django_db
def test_every_page_carries_the_strict_policy(soc_admin, team_a):
    rule = CorrelationRuleFactory(name="a rule")
    incident = IncidentFactory(team=team_a)
    client = Client()
    assert_strict(client.get("/accounts/login/"))
    assert_strict(client.get("/incidents/"))  # the redirect to the login page, too
    client.force_login(soc_admin)
    pages = [
        "/", "/dashboard/", "/alerts/", "/alerts/mutes/", "/incidents/", "/incidents/new/",
        f"/incidents/{incident.number}/", "/reports/", "/events/search/", "/events/upload/",
        "/rules/", "/rules/new/", "/rules/coverage/", f"/rules/{rule.pk}/",
        f"/rules/{rule.pk}/edit/", "/entities/ip/203.0.113.5/", "/admin/",
        "/admin/incidents/connector/add/", "/admin/auth/user/",
    ]  # fmt: skip
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith("text/html")
        assert_strict(response)


@pytest.mark.django_db
def test_over_https_the_websocket_origin_is_wss_of_the_same_host(analyst_a, settings):
    settings.ALLOWED_HOSTS = ["soc.example.com"]
    client = Client()
    client.force_login(analyst_a)
    response = client.get("/", secure=True, HTTP_HOST="soc.example.com")
    assert_strict(response, host="soc.example.com", scheme="wss")


@pytest.mark.django_db
def test_only_the_api_docs_get_data_images_and_their_script_is_a_file(analyst_a):
    client = Client()
    client.force_login(analyst_a)
    page = client.get("/api/docs/")
    policy = parse_csp(page["Content-Security-Policy"])
    assert policy["img-src"] == {"'self'", "data:"}
    assert policy["script-src"] == {"'self'"} and policy["style-src"] == {"'self'"}
    html = page.content.decode()
    assert re.search(r"<script>|<style", html) is None
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
    # The relaxation does not leak to a neighbouring path.
    assert parse_csp(client.get("/api/v1/alerts/")["Content-Security-Policy"])["img-src"] == {
        "'self'"
    }
    # Redoc could not keep the policy: its old address leads to Swagger UI.
    assert client.get("/api/redoc/")["Location"] == "/api/docs/"


@pytest.mark.django_db
def test_report_only_mode_reports_without_blocking(analyst_a, settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = True
    response = Client().get("/accounts/login/")
    assert "Content-Security-Policy" not in response
    assert "script-src 'self'" in response["Content-Security-Policy-Report-Only"]


@pytest.mark.django_db
def test_severity_colours_come_from_a_stylesheet_not_inline_styles(analyst_a, reference_data):
    client = Client()
    client.force_login(analyst_a)
    critical = Severity.objects.get(name="critical")
    critical.color_code = "#123abc"
    critical.save()
    sheet = client.get("/severities.css")
    assert sheet["Content-Type"].startswith("text/css")
    assert ".sev-critical { --sev: #123abc; }" in sheet.content.decode()
    assert sheet.content.decode().count("--sev:") == Severity.objects.count()
    home = client.get("/").content.decode()
    assert 'href="/severities.css"' in home and "sev-critical" in home
    assert Client().get("/severities.css").status_code == 302  # people only


# What a strict CSP blocks, in the forms a template could contain it.
FORBIDDEN_IN_TEMPLATES = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "inline event handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE),
    "style element": re.compile(r"<style", re.IGNORECASE),
}


def test_no_template_holds_what_the_policy_would_block():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 20
    found = [
        f"{path.relative_to(ROOT)}: {what}: {match.group(0)[:60]}"
        for path in templates
        for what, pattern in FORBIDDEN_IN_TEMPLATES.items()
        for match in pattern.finditer(path.read_text())
    ]
    assert found == []


def test_the_template_scan_finds_each_forbidden_form():
    """The control of the scan above."""
    samples = {
        "inline script": "<script>alert(1)</script>",
        "inline event handler": '<img src="x" onerror="alert(1)">',
        "javascript: URL": '<a href="javascript:alert(1)">',
        "style attribute": '<span class="badge" style="--sev: red">',
        "style element": "<style>body{}</style>",
    }
    for what, sample in samples.items():
        assert FORBIDDEN_IN_TEMPLATES[what].search(sample), what
    assert not FORBIDDEN_IN_TEMPLATES["inline script"].search('<script src="/s.js" defer>')
