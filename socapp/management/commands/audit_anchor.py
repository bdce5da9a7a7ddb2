"""manage.py audit_anchor [--export [--since DATE]]: checkpoint the audit chain, or print
every stored anchor as signed JSON lines."""

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime

from socapp.audit_anchor import anchor_line, anchors_export, audit_anchor_write


def _moment(text: str) -> datetime:
    moment = parse_datetime(text)
    if moment is None and (day := parse_date(text)) is not None:
        moment = datetime(day.year, day.month, day.day)
    if moment is None:
        raise CommandError(f"--since: {text!r} is not a date or time (YYYY-MM-DD[THH:MM])")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Write an anchor of the audit chain now (the beat task does so every "
        "AUDIT_ANCHOR_INTERVAL_SECONDS) and print it; with --export, print every stored "
        "anchor instead, one signed JSON line each, for keeping outside this database "
        "(`manage.py audit_verify --anchors FILE` checks the chain against them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--export", action="store_true", help="print the stored anchors")
        parser.add_argument(
            "--since", metavar="DATE", help="with --export: only anchors from this time on"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["since"] and not options["export"]:
            raise CommandError("--since goes with --export")
        if options["export"]:
            since = _moment(options["since"]) if options["since"] else None
            for line in anchors_export(since):
                self.stdout.write(line)
            return
        self.stdout.write(anchor_line(audit_anchor_write()))
