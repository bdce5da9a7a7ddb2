"""Guessed bearer tokens meet a 429: personal API tokens, source ingest tokens (REST and
Splunk HEC) share one count per client address; the answer comes before any lookup;
good tokens from other addresses are unaffected."""

from __future__ import annotations

import secrets

import pytest
from django.urls import reverse

from events.services import source_create
from socapp.models import Team
from socapp.tokens import token_generate

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"


def guess(prefix: str = "socapp_pat_") -> str:
    return prefix + secrets.token_urlsafe(32)


@pytest.fixture
def personal_token(analyst_a) -> str:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("token_create", "analyst_a", stdout=out, stderr=StringIO())
    return out.getvalue().strip()


@pytest.fixture
def ingest_token(reference_data) -> str:
    _, token = source_create(
        name="fw", log_format="syslog", team=Team.objects.get(name="SOC"), actor=None
    )
    return token


def test_a_hundred_guessed_personal_tokens_meet_429s(api, personal_token, settings):
    answers = [
        api.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {guess()}", REMOTE_ADDR=ATTACKER)
        for _ in range(100)
    ]
    limit = settings.TOKEN_FAILURE_LIMIT
    assert [a.status_code for a in answers] == [401] * limit + [429] * (100 - limit)
    throttled = answers[-1]
    assert 0 < int(throttled["Retry-After"]) <= settings.TOKEN_FAILURE_WINDOW
    assert "Too many refused tokens" in throttled.json()["detail"]

    good = f"Bearer {personal_token}"
    # The blocked address waits even with a good token; everyone else is unaffected.
    assert (
        api.get(reverse("api:me"), HTTP_AUTHORIZATION=good, REMOTE_ADDR=ATTACKER).status_code == 429
    )
    mine = api.get(reverse("api:me"), HTTP_AUTHORIZATION=good, REMOTE_ADDR=ELSEWHERE)
    assert mine.status_code == 200 and mine.json()["username"] == "analyst_a"


def test_a_throttled_address_costs_no_token_lookup(api, settings, django_assert_num_queries):
    settings.TOKEN_FAILURE_LIMIT = 3
    for _ in range(3):
        api.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {guess()}", REMOTE_ADDR=ATTACKER)
    with django_assert_num_queries(0):
        answer = api.get(
            reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {guess()}", REMOTE_ADDR=ATTACKER
        )
    assert answer.status_code == 429


def test_guessed_ingest_tokens_meet_429s_over_rest_and_hec(api, ingest_token, settings):
    settings.TOKEN_FAILURE_LIMIT = 10
    body = b"Nov 28 04:03:59 fw sshd[1]: Failed password for root from 198.51.100.9 port 22\n"

    def ingest(token: str, address: str, path: str = "/api/v1/ingest/", scheme: str = "Bearer"):
        return api.generic(
            "POST",
            path,
            body,
            content_type="text/plain",
            HTTP_AUTHORIZATION=f"{scheme} {token}",
            REMOTE_ADDR=address,
        )

    rest = [ingest(guess("socapp_src_"), ATTACKER).status_code for _ in range(6)]
    hec = [
        ingest(guess("socapp_src_"), ATTACKER, "/services/collector/raw", "Splunk").status_code
        for _ in range(6)
    ]
    # One count for both paths: 10 refusals, then 429s.
    assert rest + hec == [401] * 6 + [401] * 4 + [429] * 2
    refused = ingest(ingest_token, ATTACKER)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    hec_refused = ingest(ingest_token, ATTACKER, "/services/collector/raw", "Splunk")
    assert hec_refused.status_code == 429 and hec_refused.json()["code"] == 9
    assert ingest(ingest_token, ELSEWHERE).status_code == 200


def test_personal_and_ingest_guesses_share_the_count(api, settings):
    settings.TOKEN_FAILURE_LIMIT = 4
    for _ in range(2):
        api.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {guess()}", REMOTE_ADDR=ATTACKER)
        api.generic(
            "POST",
            "/api/v1/ingest/",
            b"x\n",
            content_type="text/plain",
            HTTP_AUTHORIZATION=f"Bearer {token_generate('socapp_src_').plaintext}",
            REMOTE_ADDR=ATTACKER,
        )
    answer = api.get(
        reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {guess()}", REMOTE_ADDR=ATTACKER
    )
    assert answer.status_code == 429
