"""The audit log is append-only and tamper-evident."""

from __future__ import annotations

import itertools
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from socapp.audit import audit_record, audit_verify
from socapp.models import AuditEntry


@pytest.fixture
def chain(analyst_a) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return [audit_record(actor=analyst_a, action="test.step", changes={"n": n}) for n in range(5)]


@pytest.mark.django_db
def test_entries_chain_and_verify(chain):  # type: ignore[no-untyped-def]
    assert [e.seq for e in chain] == list(range(chain[0].seq, chain[0].seq + 5))
    assert all(b.prev_mac == a.mac for a, b in itertools.pairwise(chain))
    assert audit_verify() == []
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "intact" in out.getvalue()


@pytest.mark.django_db
def test_the_database_refuses_updates_and_deletes(chain):  # type: ignore[no-untyped-def]
    for statement in ("UPDATE socapp_auditentry SET action = 'x'", "DELETE FROM socapp_auditentry"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AuditEntry.objects.count() == 5


def _bypass_trigger(sql: str, params: list) -> None:
    """What someone with owner rights on the database could do behind the application."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE socapp_auditentry DISABLE TRIGGER socapp_auditentry_append_only"
        )
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE socapp_auditentry ENABLE TRIGGER socapp_auditentry_append_only")


@pytest.mark.django_db
def test_an_edit_behind_the_applications_back_is_detected(chain):  # type: ignore[no-untyped-def]
    _bypass_trigger(
        "UPDATE socapp_auditentry SET changes = '{\"n\": 99}' WHERE seq = %s", [chain[2].seq]
    )
    problems = audit_verify()
    assert [p.seq for p in problems] == [chain[2].seq]
    with pytest.raises(CommandError, match="broken"):
        call_command("audit_verify", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_a_deleted_entry_is_detected(chain):  # type: ignore[no-untyped-def]
    _bypass_trigger("DELETE FROM socapp_auditentry WHERE seq = %s", [chain[1].seq])
    reasons = {p.reason for p in audit_verify()}
    assert any("gap" in r for r in reasons)


@pytest.mark.django_db
def test_api_changes_are_audited(soc_admin):  # type: ignore[no-untyped-def]
    from django.urls import reverse

    from tests.conftest import client_for

    response = client_for(soc_admin).post(
        reverse("api:assettype-list"), {"name": "printer"}, format="json"
    )
    entry = AuditEntry.objects.get(action="create", object_id=response.json()["id"])
    assert entry.actor_name == "soc_admin"
    assert entry.changes["name"] == [None, "printer"]
