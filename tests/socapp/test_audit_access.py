"""Access is audited, not only change: logins, failed logins and tokens, refusals. Whoever
can reach socapp can fail as often as they like; the audit log grows by a bounded amount."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from socapp.audit import audit_verify
from socapp.audit_access import audit_flush_suppressed, forget_bounds
from socapp.models import ApiToken, AuditEntry
from socapp.tasks import audit_checkpoint
from tests.conftest import PASSWORD

AGENT = "Mozilla/5.0 (audit test) Firefox/140.0"


@pytest.fixture(autouse=True)
def _fresh_bounds():
    forget_bounds()
    yield
    forget_bounds()


def browser(addr: str = "192.0.2.10") -> Client:
    return Client(HTTP_USER_AGENT=AGENT, REMOTE_ADDR=addr)


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def bearer(api, token: str, addr: str = "192.0.2.20"):
    return api.get(
        reverse("api:alert-list"),
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_USER_AGENT="curl/8.0",
        REMOTE_ADDR=addr,
    )


def new_token(username: str) -> str:
    out = StringIO()
    call_command("token_create", username, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


@pytest.mark.django_db
def test_logins_failed_logins_and_logouts_are_audited(analyst_a):
    client = browser()
    login = reverse("login")
    assert client.post(login, {"username": "analyst_a", "password": "wrong"}).status_code == 200
    assert client.post(login, {"username": "analyst_a", "password": PASSWORD}).status_code == 302
    assert client.post(reverse("logout")).status_code == 302

    (failed,) = entries("auth.login_failed")
    assert (failed.actor, failed.actor_name, failed.result) == (None, "analyst_a", "failed")
    (ok,) = entries("auth.login")
    assert (ok.actor, ok.result) == (analyst_a, "allowed")
    (out,) = entries("auth.logout")
    assert out.actor == analyst_a
    for entry in (failed, ok, out):
        assert (entry.remote_addr, entry.user_agent) == ("192.0.2.10", AGENT)
    assert failed.seq < ok.seq < out.seq
    assert audit_verify() == []


@pytest.mark.django_db
def test_a_failed_admin_login_is_audited(soc_admin):
    response = browser().post(
        "/admin/login/", {"username": "soc_admin", "password": "guess", "next": "/admin/"}
    )
    assert response.status_code == 200
    (failed,) = entries("auth.login_failed")
    assert failed.actor_name == "soc_admin" and failed.remote_addr == "192.0.2.10"


@pytest.mark.django_db
def test_failed_tokens_are_audited_without_their_secret(api, analyst_a):
    token = new_token("analyst_a")
    revoked = ApiToken.objects.get()
    revoked.revoked_at = timezone.now()
    revoked.save()
    guessed = "socapp_pat_" + "x" * 43
    assert bearer(api, token).status_code == 401
    assert bearer(api, guessed).status_code == 401
    assert bearer(api, "garbage-token").status_code == 401
    assert bearer(api, "socapp_src_" + "y" * 43).status_code == 401

    revoked_use, unknown, malformed, wrong_kind = entries("auth.token_failed")
    assert revoked_use.actor == analyst_a
    assert (revoked_use.object_type, revoked_use.object_id) == ("socapp.apitoken", str(revoked.pk))
    assert revoked_use.changes["reason"] == "This API token has been revoked."
    assert revoked_use.changes["token"] == revoked.lookup_prefix
    assert unknown.actor is None and unknown.changes["reason"] == "Unknown API token."
    assert malformed.changes["token"] == "(not a socapp token, 13 characters)"
    assert wrong_kind.changes["token"] == "socapp_src_yyyyyy"
    for entry in (revoked_use, unknown, malformed, wrong_kind):
        assert entry.result == "failed" and entry.user_agent == "curl/8.0"
        assert entry.remote_addr == "192.0.2.20"
        assert entry.changes["path"] == "/api/v1/alerts/"
        text = json.dumps(entry.changes)
        assert token[20:] not in text and "x" * 20 not in text  # never the secret part


@pytest.mark.django_db
def test_a_flood_of_bad_tokens_writes_a_bounded_number_of_entries(api, settings, reference_data):
    settings.AUDIT_FAILURE_BURST = 5
    # One window for the whole flood, however slow a loaded machine makes 200 requests
    # (windows are aligned to multiples of their length: this one does not end till 2033)
    settings.AUDIT_FAILURE_WINDOW_SECONDS = 10**9
    # The token throttle (tests/socapp/test_token_throttle.py) would answer 429 long
    # before 200 guesses; here the audit log's own bound is under test.
    settings.TOKEN_FAILURE_LIMIT = 1000
    before = AuditEntry.objects.count()
    for n in range(200):
        addr = "203.0.113.7" if n % 4 else f"198.51.100.{n % 50}"
        assert bearer(api, f"socapp_pat_guess{n:040d}", addr).status_code == 401
    # The first five of the window are written in full; the rest are only counted ...
    assert len(entries("auth.token_failed")) == 5
    assert AuditEntry.objects.count() == before + 5
    # ... and summarised in one entry once the window has closed.
    later = time.time() + settings.AUDIT_FAILURE_WINDOW_SECONDS
    assert audit_flush_suppressed(now=later) == 1
    assert audit_flush_suppressed(now=later) == 0  # taken once, by one process
    (summary,) = entries("auth.token_failed.suppressed")
    assert summary.result == "failed"
    assert summary.changes["suppressed"] == 195
    by_client = summary.changes["by_client"]
    assert sum(by_client.values()) == 195
    assert len(by_client) <= 21  # 20 addresses by name, the others together
    assert by_client["203.0.113.7"] == 150 - sum(1 for n in range(5) if n % 4)
    assert AuditEntry.objects.count() == before + 6
    assert audit_verify() == []


@pytest.mark.django_db
def test_the_anchor_task_writes_the_pending_summaries(api, settings, reference_data, monkeypatch):
    settings.AUDIT_FAILURE_BURST = 1
    for _ in range(3):
        bearer(api, "socapp_pat_" + "z" * 43)
    # The window closes (the clock moves on) and the beat task comes round.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 120)
    audit_checkpoint()
    (summary,) = entries("auth.token_failed.suppressed")
    assert summary.changes["suppressed"] == 2


@pytest.mark.django_db
def test_refusals_are_audited_on_the_api_and_the_pages(api, nobody, auditor, team_a):
    from incidents.services import alert_create
    from tests.factories import severity

    api.force_authenticate(user=nobody)
    assert (
        api.get(reverse("api:alert-list"), HTTP_USER_AGENT=AGENT, REMOTE_ADDR="192.0.2.30")
    ).status_code == 403
    (refused,) = entries("access.denied")
    assert (refused.actor, refused.result) == (nobody, "denied")
    assert "no role" in refused.changes["reason"]
    assert refused.changes["path"] == "/api/v1/alerts/"
    assert (refused.remote_addr, refused.user_agent) == ("192.0.2.30", AGENT)

    alert = alert_create(title="scan", severity=severity("low"), team=team_a, details={})
    page = browser()
    page.force_login(auditor)
    assert page.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 403
    page_refusal = entries("access.denied")[-1]
    assert page_refusal.actor == auditor
    assert page_refusal.changes["view"] == "alerts:triage"
    assert page_refusal.changes["object"] == {"pk": str(alert.pk), "action": "acknowledge"}


@pytest.mark.django_db
def test_refusals_are_bounded_too(api, nobody, settings):
    settings.AUDIT_FAILURE_BURST = 3
    api.force_authenticate(user=nobody)
    for _ in range(40):
        assert api.get(reverse("api:incident-list")).status_code == 403
    assert len(entries("access.denied")) == 3
    assert audit_flush_suppressed(now=time.time() + settings.AUDIT_FAILURE_WINDOW_SECONDS) == 1
    assert entries("access.denied.suppressed")[0].changes["suppressed"] == 37
