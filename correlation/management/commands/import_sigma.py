"""manage.py import_sigma [--inactive] [--team T] PATH..."""

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from correlation.services import import_rules
from socapp.models import Team


class Command(BaseCommand):
    help = (
        "Load Sigma rules (detection, correlation, filter documents) from files or folders. "
        "Rules are active unless --inactive; deprecated and unsupported rules are skipped; "
        "re-importing a changed rule makes a new version. Exit status 1 on hard errors "
        "(a file missing or unreadable, a rule that does not validate)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--inactive", action="store_true", help="import rules disabled")
        parser.add_argument("--team", help="owning team of the imported rules' alerts")
        parser.add_argument(
            "--quiet-skips", action="store_true", help="summarize skip reasons instead of listing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        team = None
        if options["team"]:
            team = Team.objects.filter(name=options["team"]).first()
            if team is None:
                raise CommandError(f"no team named {options['team']!r}")
        report = import_rules(
            options["paths"], actor=None, active=not options["inactive"], team=team
        )
        if options["quiet_skips"]:
            reasons = Counter(reason for _, reason in report.skipped)
            for reason, count in reasons.most_common():
                self.stdout.write(f"skipped {count}: {reason}")
        else:
            for where, reason in report.skipped:
                self.stdout.write(f"skipped {where}: {reason}")
        for where, problem in report.errors:
            self.stderr.write(f"error {where}: {problem}")
        self.stdout.write(
            f"imported {report.imported}, updated {report.updated}, "
            f"unchanged {report.unchanged}, skipped {len(report.skipped)}, "
            f"errors {len(report.errors)}"
        )
        if report.errors:
            raise SystemExit(1)
