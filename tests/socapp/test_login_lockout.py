"""Login lockout on the login page and the admin: by account at an address and by
address, the right password refused while locked, the address taken from the peer (or
from X-Forwarded-For only when the peer is a configured proxy), good users unaffected."""

from __future__ import annotations

import pytest
from django.test import Client

from socapp.models import AuditEntry
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"
PROXY = "10.1.2.3"


def log_in(client: Client, username: str, password: str, path: str = "/accounts/login/", **meta):
    return client.post(path, {"username": username, "password": password}, **meta)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_lock_the_account_at_that_address(analyst_a, analyst_b, settings):
    answers = [
        log_in(Client(), "analyst_a", f"guess {n}", REMOTE_ADDR=ATTACKER).status_code
        for n in range(30)
    ]
    limit = settings.LOGIN_FAILURE_LIMIT
    assert answers[: limit - 1] == [200] * (limit - 1)  # the form again, "wrong password"
    assert answers[limit - 1 :] == [429] * (31 - limit)

    locked = Client()
    page = log_in(locked, "analyst_a", PASSWORD, REMOTE_ADDR=ATTACKER)
    assert page.status_code == 429 and not logged_in(locked)
    assert "Too many failed logins" in page.content.decode()
    assert page["Retry-After"] == str(settings.LOGIN_LOCKOUT_MINUTES * 60)

    # Good users: the same account from its owner's address, another account from here.
    owner = Client()
    assert log_in(owner, "analyst_a", PASSWORD, REMOTE_ADDR=ELSEWHERE).status_code == 302
    assert logged_in(owner)
    colleague = Client()
    assert log_in(colleague, "analyst_b", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 302
    assert logged_in(colleague)


def test_spraying_many_accounts_from_one_address_locks_the_address(analyst_a, settings):
    per_address = settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS
    accounts = [f"user{n}" for n in range(per_address)]
    answers = [log_in(Client(), name, "Winter2026!", REMOTE_ADDR=ATTACKER) for name in accounts]
    assert [a.status_code for a in answers[:-1]] == [200] * (per_address - 1)
    assert answers[-1].status_code == 429
    victim = Client()
    assert log_in(victim, "analyst_a", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429
    assert not logged_in(victim)
    assert log_in(Client(), "analyst_a", PASSWORD, REMOTE_ADDR=ELSEWHERE).status_code == 302


def test_the_admin_login_locks_too(soc_admin, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        log_in(Client(), "soc_admin", f"guess {n}", "/admin/login/", REMOTE_ADDR=ATTACKER)
    admin = Client()
    refused = log_in(admin, "soc_admin", PASSWORD, "/admin/login/", REMOTE_ADDR=ATTACKER)
    assert refused.status_code == 429 and not logged_in(admin)
    assert log_in(Client(), "soc_admin", PASSWORD, "/admin/login/").status_code == 302


def test_a_forged_forwarded_for_from_an_untrusted_peer_neither_spreads_nor_lifts_the_lock(
    analyst_a, settings
):
    assert settings.TRUSTED_PROXIES == []
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        # Each guess claims another origin; they all count against the real peer.
        forged = f"192.0.2.{n}"
        log_in(Client(), "analyst_a", f"g{n}", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=forged)
    still = Client()
    answer = log_in(
        still, "analyst_a", PASSWORD, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=ELSEWHERE
    )
    assert answer.status_code == 429 and not logged_in(still)


def test_behind_a_configured_proxy_the_forwarded_client_is_the_one_locked(analyst_a, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # The attacker sends its own header; our proxy appends the address it saw.
    via_proxy = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{ELSEWHERE}, {ATTACKER}"}
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        log_in(Client(), "analyst_a", f"g{n}", **via_proxy)
    assert log_in(Client(), "analyst_a", PASSWORD, **via_proxy).status_code == 429
    # Another client behind the same proxy is someone else: not locked.
    owner = Client()
    answer = log_in(owner, "analyst_a", PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert answer.status_code == 302 and logged_in(owner)


def test_audit_entries_record_the_same_client_address(soc_admin, settings):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(soc_admin)
    forged = {"REMOTE_ADDR": ATTACKER, "HTTP_X_FORWARDED_FOR": ELSEWHERE}
    api.post("/api/v1/event-types/", {"name": "t1", "category": "network"}, **forged)
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxied = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{ELSEWHERE}, {ATTACKER}"}
    api.post("/api/v1/event-types/", {"name": "t2", "category": "network"}, **proxied)
    recorded = dict(
        AuditEntry.objects.filter(action="create").values_list("object_repr", "remote_addr")
    )
    assert recorded == {"t1": ATTACKER, "t2": ATTACKER}


def test_soc_admins_see_and_clear_a_lock_in_the_admin(analyst_a, soc_admin, auditor, settings):
    from axes.models import AccessAttempt

    for n in range(settings.LOGIN_FAILURE_LIMIT):
        log_in(Client(), "analyst_a", f"g{n}", REMOTE_ADDR=ATTACKER)
    admin = Client()
    admin.force_login(soc_admin)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "analyst_a" in listing.content.decode()
    reader = Client()
    reader.force_login(auditor)
    assert reader.get("/admin/axes/accessattempt/").status_code == 200
    attempt = AccessAttempt.objects.get(username="analyst_a")
    assert (
        reader.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert not AccessAttempt.objects.exists()
    assert log_in(Client(), "analyst_a", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 302


def test_hammering_a_locked_address_stores_nothing_more(settings):
    from axes.models import AccessAttempt
    from django.db.models import Sum

    for n in range(200):
        log_in(Client(), f"user{n}", "x", REMOTE_ADDR=ATTACKER, HTTP_USER_AGENT=f"bot/{n}")
    stored = AccessAttempt.objects.aggregate(failures=Sum("failures_since_start"))
    # Failures stop being recorded once the address is locked: the table holds what it
    # took to lock it, whatever the attacker sends next.
    assert stored["failures"] == settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS
    assert AccessAttempt.objects.count() == settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS


def test_a_soc_admin_lifts_a_lockout_in_the_admin_and_it_is_audited(
    analyst_a, soc_admin, auditor, settings
):
    from axes.models import AccessAttempt

    for n in range(settings.LOGIN_FAILURE_LIMIT):
        log_in(Client(), "analyst_a", f"guess {n}", REMOTE_ADDR=ATTACKER)
    assert log_in(Client(), "analyst_a", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429
    attempt = AccessAttempt.objects.get(username="analyst_a", ip_address=ATTACKER)

    # The read-only auditor sees the lockout and cannot lift it.
    reader = Client()
    reader.force_login(auditor)
    assert reader.get("/admin/axes/accessattempt/").status_code == 200
    delete_page = f"/admin/axes/accessattempt/{attempt.pk}/delete/"
    assert reader.post(delete_page, {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()

    admin = Client()
    admin.force_login(soc_admin)
    assert admin.post(delete_page, {"post": "yes"}).status_code == 302
    assert not AccessAttempt.objects.filter(pk=attempt.pk).exists()
    entry = AuditEntry.objects.get(action="auth.lockout_cleared")
    assert entry.actor_name == "soc_admin" and entry.changes["address"] == ATTACKER

    owner = Client()
    assert log_in(owner, "analyst_a", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 302
    assert logged_in(owner)
