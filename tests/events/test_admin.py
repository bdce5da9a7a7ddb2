"""Sources in the Django admin: their ingest-token actions are for those who may change
sources (a read-only auditor must neither see a new token nor revoke one)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from events.models import Source
from events.services import source_issue_token
from tests.factories import SourceFactory


def _run(user, action: str, source: Source) -> list[str]:
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("admin:events_source_changelist"),
        {"action": action, "_selected_action": [source.pk]},
    )
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_the_auditor_can_neither_issue_nor_revoke_an_ingest_token(auditor, soc_admin, team_a):
    source = SourceFactory(team=team_a)
    source_issue_token(source=source, actor=soc_admin)
    digest = Source.objects.get(pk=source.pk).token_digest

    said = _run(auditor, "issue_token", source)
    assert not any("socapp_src_" in m for m in said), said
    assert Source.objects.get(pk=source.pk).token_digest == digest

    _run(auditor, "revoke_token", source)
    assert Source.objects.get(pk=source.pk).token_revoked_at is None


@pytest.mark.django_db
def test_the_soc_admin_issues_and_revokes_ingest_tokens(soc_admin, team_a):
    source = SourceFactory(team=team_a)
    source_issue_token(source=source, actor=soc_admin)
    digest = Source.objects.get(pk=source.pk).token_digest

    said = _run(soc_admin, "issue_token", source)
    assert any("socapp_src_" in m for m in said), said
    assert Source.objects.get(pk=source.pk).token_digest != digest

    _run(soc_admin, "revoke_token", source)
    assert Source.objects.get(pk=source.pk).token_revoked_at is not None
