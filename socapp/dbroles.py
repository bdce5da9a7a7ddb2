"""The database role the application runs as, made and granted by the owner role.

Two roles (docs/SECURITY.md): the *owner* runs migrations, owns the schema and the
audit tables; the *application* role (web, workers, beat, syslog) gets what running
socapp takes and no more:

* SELECT, INSERT, UPDATE, DELETE on the application's tables;
* SELECT and INSERT only on the audit log and its anchors: no UPDATE, DELETE or
  TRUNCATE, and since it does not own them it cannot disable their triggers either;
* SELECT only on ``django_migrations``;
* ownership of what socapp maintains while it runs: the partitioned events tables with
  their partitions (created ahead, attached, detached and dropped by retention) and the
  materialized views it refreshes; PostgreSQL lets only an owner do that. CREATE on
  the schema, for new partitions.

The owner becomes a member of the application role (so it can hand over those tables
and still alter them in later migrations); never the other way round. Everything is
idempotent: run it after every ``migrate`` and ``bootstrap`` (new tables and the
partitions bootstrap made are then granted or handed over).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from .models import AuditAnchor, AuditEntry

AUDIT_TABLES = (AuditEntry._meta.db_table, AuditAnchor._meta.db_table)
READ_ONLY_TABLES = ("django_migrations",)
DML = "SELECT, INSERT, UPDATE, DELETE"
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class RoleSetupError(Exception):
    """The roles cannot be set up as asked; the message says why and what to do."""


@dataclass
class RoleReport:
    role: str
    owner: str
    created: bool = False
    granted: list[str] = field(default_factory=list)  # tables with DML
    append_only: list[str] = field(default_factory=list)  # tables with SELECT, INSERT
    handed_over: list[str] = field(default_factory=list)  # now owned by the app role


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _ensure_role(cursor: CursorWrapper, role: str, password: str) -> bool:
    cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    if row is not None and any(row):
        raise RoleSetupError(f"role {role} is a superuser or bypasses row security; it must not")
    options = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    verb = "ALTER" if row is not None else "CREATE"
    if row is not None and not password:
        return False
    if password:
        cursor.execute(f"{verb} ROLE {_q(role)} {options} PASSWORD %s", [password])
    else:
        cursor.execute(f"{verb} ROLE {_q(role)} {options}")
    return row is None


def _tables(cursor: CursorWrapper) -> list[tuple[str, str, str, bool]]:
    """(name, kind, owner, maintained at run time) of every table and materialized view
    of the schema."""
    cursor.execute(
        """
        SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner),
               c.relkind IN ('p', 'm') OR (c.relispartition AND EXISTS (
                   SELECT 1 FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                   WHERE i.inhrelid = c.oid AND p.relkind = 'p'))
        FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'm')
        ORDER BY c.relname
        """
    )
    return cursor.fetchall()


def _grant_membership(cursor: CursorWrapper, role: str, owner: str) -> None:
    cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])
    if cursor.fetchone()[0]:
        raise RoleSetupError(f"role {role} is a member of {owner}: it could act as the owner")
    cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [owner, role])
    if not cursor.fetchone()[0]:
        cursor.execute(f"GRANT {_q(role)} TO {_q(owner)}")


def db_roles_apply(*, role: str, password: str = "") -> RoleReport:
    """Create (or update) the application role and grant it exactly what it needs."""
    if not ROLE_NAME.fullmatch(role):
        raise RoleSetupError(f"{role!r} is not a plain role name (a-z, 0-9, _)")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), current_schema()")
        owner, database, schema = cursor.fetchone()
        if role == owner:
            raise RoleSetupError(
                f"run this as the owner role, not as {role}: the application role must "
                "not own the tables it may not alter"
            )
        report = RoleReport(role=role, owner=owner)
        report.created = _ensure_role(cursor, role, password)
        _grant_membership(cursor, role, owner)
        cursor.execute(f"GRANT CONNECT ON DATABASE {_q(database)} TO {_q(role)}")
        cursor.execute(f"GRANT USAGE, CREATE ON SCHEMA {_q(schema)} TO {_q(role)}")
        for name, kind, table_owner, maintained in _tables(cursor):
            _grant_table(cursor, report, name, kind, table_owner, maintained)
        cursor.execute(
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {_q(schema)} TO {_q(role)}"
        )
        # Tables later migrations create are usable at once; the next run of this
        # narrows them (audit tables) as above.
        cursor.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_q(owner)} IN SCHEMA {_q(schema)} "
            f"GRANT {DML} ON TABLES TO {_q(role)}"
        )
        cursor.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_q(owner)} IN SCHEMA {_q(schema)} "
            f"GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {_q(role)}"
        )
    return report


def _grant_table(
    cursor: CursorWrapper, report: RoleReport, name: str, kind: str, owner: str, maintained: bool
) -> None:
    role = report.role
    if name in AUDIT_TABLES and owner == role:
        raise RoleSetupError(f"{role} owns {name}; give it back to the owner role first")
    if maintained and name not in AUDIT_TABLES:
        if owner != role:
            what = "MATERIALIZED VIEW" if kind == "m" else "TABLE"
            cursor.execute(f"ALTER {what} {_q(name)} OWNER TO {_q(role)}")
            report.handed_over.append(name)
        return
    cursor.execute(f"REVOKE ALL ON {_q(name)} FROM {_q(role)}")
    if name in AUDIT_TABLES:
        cursor.execute(f"GRANT SELECT, INSERT ON {_q(name)} TO {_q(role)}")
        report.append_only.append(name)
    elif name in READ_ONLY_TABLES:
        cursor.execute(f"GRANT SELECT ON {_q(name)} TO {_q(role)}")
    else:
        cursor.execute(f"GRANT {DML} ON {_q(name)} TO {_q(role)}")
        report.granted.append(name)
