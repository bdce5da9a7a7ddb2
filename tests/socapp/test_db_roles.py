"""The application runs as a database role that cannot alter the audit log: made and
granted by `manage.py db_roles`, proven by connecting as it."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from events.models import Event
from socapp.audit import audit_record, audit_verify
from socapp.models import AuditAnchor, AuditEntry
from tests.conftest import ROOT, app_env
from tests.factories import SourceFactory

pytestmark = pytest.mark.slow

FORBIDDEN = [
    "TRUNCATE {table}",
    "DELETE FROM {table}",
    "UPDATE {table} SET at = at",
    "ALTER TABLE {table} DISABLE TRIGGER USER",
    "ALTER TABLE {table} OWNER TO CURRENT_USER",
    "CREATE TRIGGER sneaky BEFORE INSERT ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION socapp_audit_append_only()",
    "DROP TABLE {table}",
]


def _drop_role(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        if cursor.fetchone():
            cursor.execute(f'REASSIGN OWNED BY "{name}" TO CURRENT_USER')
            cursor.execute(f'DROP OWNED BY "{name}"')
            cursor.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def app_role(transactional_db):
    """A role of this test database's own (roles belong to the whole cluster)."""
    name = f"{connection.settings_dict['NAME']}_app"[:63]
    _drop_role(name)
    yield name
    _drop_role(name)


def connect_as(role: str) -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"],
        user=role,
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        autocommit=True,
    )


def run_as(role: str, *args: str) -> subprocess.CompletedProcess:
    s = connection.settings_dict
    url = f"postgres://{role}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=app_env(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_app_role_cannot_alter_the_audit_log_yet_runs_socapp(
    app_role, analyst_a, settings, tmp_path: Path
):
    audit_record(actor=analyst_a, action="test.before_split")
    source = SourceFactory.create(format="json")
    out = StringIO()
    call_command("db_roles", "--app-role", app_role, stdout=out)
    assert f"role {app_role} created" in out.getvalue()
    settings.DB_APP_PASSWORD = "app role's password"
    call_command("db_roles", "--app-role", app_role, stdout=out)  # idempotent
    assert f"role {app_role} up to date" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [app_role])
        assert cursor.fetchone()[0].startswith("SCRAM-SHA-256$")

    with connect_as(app_role) as db:
        for table in ("socapp_auditentry", "socapp_auditanchor"):
            for statement in FORBIDDEN:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    db.execute(statement.format(table=table))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("SET session_replication_role = replica")
        assert db.execute("SELECT count(*) FROM socapp_auditentry").fetchone() == (1,)
        # What the beat task does to the summary view, which only its owner may.
        db.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY hourly_event_summary")
    assert AuditEntry.objects.count() == 1

    # The application itself works as that role: an audited change, an anchor, a check,
    # and ingestion into a month that needs a new partition (DDL on what it maintains).
    made = run_as(app_role, "token_create", analyst_a.username)
    assert made.returncode == 0, made.stderr
    assert AuditEntry.objects.get(action="api_token.create").changes["user"] == analyst_a.username
    anchored = run_as(app_role, "audit_anchor")
    assert anchored.returncode == 0, anchored.stderr
    assert AuditAnchor.objects.get().head_seq == 2
    checked = run_as(app_role, "audit_verify")
    assert checked.returncode == 0, checked.stderr
    log = tmp_path / "future.jsonl"
    log.write_text(json.dumps({"@timestamp": "2031-05-04T03:02:01Z", "message": "hello"}) + "\n")
    ingested = run_as(app_role, "ingest", "--source", source.name, "--no-progress", str(log))
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert Event.objects.filter(source=source).count() == 1
    assert audit_verify() == []


def test_db_roles_refuses_to_make_the_owner_the_application_role(transactional_db):
    owner = connection.settings_dict["USER"]
    with pytest.raises(CommandError, match="run this as the owner role"):
        call_command("db_roles", "--app-role", owner, stdout=StringIO())
    with pytest.raises(CommandError, match="name the application role"):
        call_command("db_roles", stdout=StringIO())
