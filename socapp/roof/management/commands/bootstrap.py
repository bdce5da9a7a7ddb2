"""manage.py bootstrap [--demo]: reference data, roles, schedule; optionally demo data."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from socapp.roof.bootstrap import bootstrap
from socapp.roof.demo import credentials_path, ensure_demo_data, ensure_demo_users


class Command(BaseCommand):
    help = (
        "Create or update what every installation needs: severities, the built-in roles and "
        "their permissions, the default team, the periodic task schedule and the coming "
        "event partitions. Idempotent; run it on every deploy. With --demo, also demo "
        "users (printed) and a demo day of logs replayed through ingestion and detection."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo", action="store_true", help="also create demo users and the demo day"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = bootstrap()
        self.stdout.write(
            f"bootstrap: {len(report.created)} created, {len(report.updated)} up to date"
        )
        for item in report.created:
            self.stdout.write(f"  + {item}")
        if not options["demo"]:
            return
        logins = ensure_demo_users()
        self.stdout.write(ensure_demo_data().summary())
        self.stdout.write(self.style.SUCCESS(f"Demo logins (also kept in {credentials_path()}):"))
        for login in logins:
            self.stdout.write(f"  {login.username:8} {login.password}   ({login.role})")
