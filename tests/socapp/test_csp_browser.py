"""Every kind of page under its Content-Security-Policy in a real browser (headless
Debian Chromium, Playwright) against uvicorn: the console's pages, the Django admin
and the API documentation work, and not one policy violation is reported. The
policy is enforced: a script injected into a page does not run, and is reported."""

from __future__ import annotations

import pytest

from tests.factories import CorrelationRuleFactory, IncidentFactory
from tests.live_console import (  # noqa: F401
    assert_no_policy_violations,
    chromium,
    live_console,
    log_in,
    policy_violations,
    watched_context,
    web_passwords,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_login_page_keeps_its_policy(live_console, chromium):  # noqa: F811
    page = watched_context(chromium).new_page()
    response = page.goto(f"{live_console.url}/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "camera=()" in response.headers["permissions-policy"]
    page.wait_for_load_state("networkidle")
    assert_no_policy_violations(page)


def test_console_admin_and_api_docs_pages_raise_no_violation(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    settings,
    soc_admin,
    team_a,
):
    web_passwords(settings, soc_admin)
    rule = CorrelationRuleFactory(name="policy rule")
    incident = IncidentFactory(team=team_a, priority="high", title="policy case")
    page = log_in(chromium, live_console, "soc_admin")
    console_pages = [
        "/", "/dashboard/", "/alerts/", "/alerts/mutes/", "/incidents/", "/incidents/new/",
        f"/incidents/{incident.number}/", "/reports/", "/events/search/?q=*&range=24h",
        "/events/upload/", "/rules/", "/rules/new/", "/rules/coverage/", f"/rules/{rule.pk}/",
        f"/rules/{rule.pk}/edit/", "/entities/ip/203.0.113.5/",
        "/accounts/two-factor/",  # its QR code: an SVG <img> from our own URL
    ]  # fmt: skip
    admin_pages = [
        "/admin/", "/admin/auth/user/", f"/admin/auth/user/{soc_admin.pk}/change/",
        "/admin/incidents/connector/add/", "/admin/incidents/notificationrule/add/",
        "/admin/socapp/auditentry/", "/admin/otp_totp/totpdevice/", "/admin/socapp/jwtsession/",
    ]  # fmt: skip
    for path in console_pages + admin_pages:
        response = page.goto(f"{live_console.url}{path}")
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        assert_no_policy_violations(page)

    # The admin's JavaScript widgets still work: the two-pane group picker is built by
    # admin/js/SelectFilter2.js, the date shortcuts by DateTimeShortcuts.js.
    page.goto(f"{live_console.url}/admin/auth/user/{soc_admin.pk}/change/")
    page.wait_for_selector("#id_groups_filter")
    page.wait_for_selector(".datetimeshortcuts a")
    page.click(".datetimeshortcuts a >> text=Today")

    # Swagger UI draws the whole API from the schema, with its init script as a file.
    page.goto(f"{live_console.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title >> text=socapp API", timeout=20_000)
    page.wait_for_selector(".opblock-tag-section", timeout=20_000)
    page.click(".opblock-summary >> nth=0")
    page.wait_for_selector(".opblock-body")
    assert page.locator("script:not([src])").count() == 0
    assert_no_policy_violations(page)

    # Redoc could not keep the policy; its old address leads to Swagger UI.
    page.goto(f"{live_console.url}/api/redoc/")
    page.wait_for_selector(".swagger-ui .info .title >> text=socapp API", timeout=20_000)
    assert_no_policy_violations(page)


def test_an_injected_inline_script_is_blocked_and_reported(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    settings,
    soc_admin,
):
    """The control for the tests above: the collector does see a violation, and the
    policy does stop what an XSS would inject."""
    web_passwords(settings, soc_admin)
    page = log_in(chromium, live_console, "soc_admin")
    page.goto(f"{live_console.url}/")
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.__injected = true";
            document.body.appendChild(s);
            const b = document.createElement("b");
            b.setAttribute("style", "color: red");
            document.body.appendChild(b);
        }"""
    )
    page.wait_for_function("() => true")
    assert page.evaluate("window.__injected === undefined")
    directives = {v.get("directive") for v in policy_violations(page)}
    assert {"script-src-elem", "style-src-attr"} <= directives, policy_violations(page)
