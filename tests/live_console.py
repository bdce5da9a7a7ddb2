"""A running console for browser tests: uvicorn (web + websockets) and a Celery worker
as `make run` starts them, on this test's database, with static files collected, and
a headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from scripts.processes import (
    ProcessGroup,
    free_port,
    manage,
    start_web,
    start_worker,
    wait_until_serving,
)
from tests.conftest import PASSWORD, app_env

CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        "Browser tests need Debian's chromium (apt-get install chromium); `make test` "
        "installs it when run as root."
    )


@dataclass
class LiveConsole:
    url: str
    logs: Path

    def ingest(self, token: str, lines: list[str]) -> None:
        """POST raw lines to the ingest API (answered once they are committed)."""
        request = urllib.request.Request(
            f"{self.url}/api/v1/ingest/",
            data="\n".join(lines).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status in (200, 201, 202), response.read()


@pytest.fixture(scope="module")
def live_console(
    request, tmp_path_factory, django_db_setup, django_db_blocker
) -> Iterator[LiveConsole]:
    """A test module may set LIVE_CONSOLE_ENV (a dict) for settings of its processes."""
    import redis

    logs = tmp_path_factory.mktemp("live-console")
    redis.Redis.from_url(settings.TEST_WORKER_BROKER_URL).flushdb()
    with django_db_blocker.unblock():
        env = app_env(
            CELERY_BROKER_URL=settings.TEST_WORKER_BROKER_URL,
            STATIC_ROOT=str(logs / "static"),
            EVIDENCE_ROOT=str(logs / "evidence"),
            **getattr(request.module, "LIVE_CONSOLE_ENV", {}),
        )
    manage("collectstatic", "--noinput", "-v", "0", env=env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ProcessGroup() as procs:
        procs.add(start_web(port, env=env, output=logs / "web.log"))
        procs.add(start_worker("default,ingest,correlation", env=env, output=logs / "worker.log"))
        wait_until_serving(url, timeout=60)
        yield LiveConsole(url=url, logs=logs)


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, so Django takes
    # the test's own ORM calls for calls from async code; they are not (Django's docs
    # name this setting for exactly such environments).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def web_passwords(settings, *users) -> None:
    """Test settings hash with MD5 for speed; the web process only knows the production
    hashers, so the people who log in through the browser get an Argon2 hash."""
    from socapp.settings import base

    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    for user in users:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])


# Reports every Content-Security-Policy violation of a page to the test (a binding
# and an init script are Playwright's own channel: the page's CSP does not apply).
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__socappPolicyViolation({
    page: location.href, directive: e.effectiveDirective, blocked: e.blockedURI,
    source: e.sourceFile + ":" + e.lineNumber, sample: e.sample,
  });
});
"""
# What Chromium says on the console when a page breaks one of its policies.
_POLICY_WORDS = ("Content Security Policy", "Permissions-Policy", "Permissions policy")


def watched_context(browser, **options):
    """A browser context whose pages collect CSP violations (``securitypolicyviolation``
    events) and policy complaints on the console into ``policy_violations(page)``;
    ``options`` go to Playwright's ``new_context`` (e.g. ``color_scheme="dark"``)."""
    context = browser.new_context(**options)
    found: list[dict] = []
    context.expose_binding("__socappPolicyViolation", lambda source, report: found.append(report))
    context.add_init_script(_REPORT_VIOLATIONS)

    def on_console(message) -> None:
        if any(words in message.text for words in _POLICY_WORDS):
            found.append({"console": message.type, "text": message.text})

    context.on("console", on_console)
    _violations[id(context)] = found
    return context


_violations: dict[int, list[dict]] = {}


def policy_violations(page) -> list[dict]:
    """Every policy violation of the page's context so far, in order."""
    page.evaluate("0")  # a round trip: reports the page sent before it have arrived
    return _violations[id(page.context)]


def assert_no_policy_violations(page) -> None:
    violations = policy_violations(page)
    assert violations == [], f"policy violations on {page.url}: {violations}"


def log_in(browser, console: LiveConsole, username: str, password: str = PASSWORD, **options):
    """A fresh browser context, logged in through the login form like a person; its
    pages report policy violations (``assert_no_policy_violations``). ``options``: as
    for ``watched_context``."""
    context = watched_context(browser, **options)
    page = context.new_page()
    page.goto(f"{console.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{console.url}/")
    return page
