"""manage.py db_roles [--app-role NAME]: the application's database role, granted what
running socapp takes and nothing it must not alter (socapp/dbroles.py)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from socapp.dbroles import RoleSetupError, db_roles_apply


class Command(BaseCommand):
    help = (
        "Run as the owner role after migrate and bootstrap: create or update the "
        "application role (DB_APP_ROLE, password DB_APP_PASSWORD if set), grant it DML "
        "on the application's tables, only SELECT and INSERT on the audit log and its "
        "anchors, and hand it the event partitions and summary views it maintains. "
        "Idempotent. Then run web, workers, beat and syslog with a DATABASE_URL of that role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--app-role",
            default=settings.DB_APP_ROLE,
            help="the application role (default: DB_APP_ROLE)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["app_role"]
        if not role:
            raise CommandError("name the application role: --app-role NAME or DB_APP_ROLE")
        try:
            report = db_roles_apply(role=role, password=settings.DB_APP_PASSWORD)
        except RoleSetupError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:
            raise CommandError(
                f"{exc}".strip() + f"\n(db_roles runs as the owner role; creating {role} or "
                "making the owner a member of it needs CREATEROLE: a database administrator "
                "can create the role and grant it to the owner beforehand)"
            ) from exc
        self.stdout.write(
            f"role {report.role} {'created' if report.created else 'up to date'}: DML on "
            f"{len(report.granted)} tables, SELECT/INSERT only on "
            f"{', '.join(report.append_only)}; {len(report.handed_over)} maintained "
            f"tables (event partitions, summary views) handed over; {report.owner} owns the rest"
        )
