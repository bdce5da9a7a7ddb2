"""Personal API tokens: token_create prints one once; it is stored hashed, expires, can be
revoked, and stops working with its user."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from socapp.models import ApiToken, AuditEntry


def create_token(username: str, *args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("token_create", username, *args, stdout=out, stderr=err)
    assert "not shown again" in err.getvalue()
    return out.getvalue().strip()


def me(api, token: str):
    return api.get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.django_db
def test_token_create_prints_a_prefixed_token_that_authenticates(api, analyst_a):
    token = create_token("analyst_a")
    assert token.startswith("socapp_pat_") and len(token) > 40
    response = me(api, token)
    assert response.status_code == 200
    assert response.json()["username"] == "analyst_a"
    assert "analyst" in response.json()["roles"]


@pytest.mark.django_db
def test_the_token_is_stored_only_as_a_digest(analyst_a):
    token = create_token("analyst_a")
    row = ApiToken.objects.get(user=analyst_a)
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    stored = " ".join(str(v) for v in ApiToken.objects.filter(pk=row.pk).values_list().get())
    assert token not in stored
    assert token[len("socapp_pat_") :] not in stored
    assert AuditEntry.objects.filter(action="api_token.create", object_id=str(row.pk)).exists()


@pytest.mark.django_db
def test_tokens_expire(api, analyst_a):
    token = create_token("analyst_a", "--expires-days", "1")
    row = ApiToken.objects.get(user=analyst_a)
    assert timedelta(hours=23) < row.expires_at - timezone.now() <= timedelta(days=1)
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = me(api, token)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


@pytest.mark.django_db
def test_revoked_tokens_are_refused(api, analyst_a):
    token = create_token("analyst_a")
    assert me(api, token).status_code == 200
    call_command(
        "token_revoke", ApiToken.objects.get(user=analyst_a).lookup_prefix, stdout=StringIO()
    )
    response = me(api, token)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.django_db
def test_a_deactivated_users_token_is_refused(api, analyst_a):
    token = create_token("analyst_a")
    analyst_a.is_active = False
    analyst_a.save()
    response = me(api, token)
    assert response.status_code == 401
    assert "deactivated" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "Bearer socapp_pat_made-up-token-that-was-never-issued-000000",
        "Bearer something-else",
        "Bearer socapp_src_a-source-ingest-token-is-not-an-api-token",
    ],
)
def test_unknown_malformed_and_source_tokens_get_401(api, analyst_a, header):
    response = api.get(reverse("api:me"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.django_db
def test_a_token_has_its_users_permissions_only(api, nobody, analyst_a):
    no_role_token = create_token("nobody")
    assert me(api, no_role_token).status_code == 403
    analyst_token = create_token("analyst_a")
    response = api.post(
        reverse("api:assettype-list"),
        {"name": "router"},
        HTTP_AUTHORIZATION=f"Bearer {analyst_token}",
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_token_create_refuses_bad_input(analyst_a):
    with pytest.raises(CommandError, match="no user"):
        create_token("no-such-user")
    with pytest.raises(CommandError, match="expire within"):
        create_token("analyst_a", "--expires-days", "0")


@pytest.mark.django_db
def test_revoke_all_tokens_of_a_user(api, analyst_a):
    tokens = [create_token("analyst_a") for _ in range(2)]
    out = StringIO()
    call_command("token_revoke", "--user", "analyst_a", stdout=out)
    assert out.getvalue().count("revoked") == 2
    assert all(me(api, t).status_code == 401 for t in tokens)
