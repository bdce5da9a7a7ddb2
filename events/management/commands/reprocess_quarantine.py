"""manage.py reprocess_quarantine [--source NAME]"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from events.ingest import quarantine_reprocess
from events.models import QuarantinedRecord


class Command(BaseCommand):
    help = (
        "Run quarantined records through their source's current parser again (after a "
        "parser fix or a source correction). What still fails stays quarantined."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", help="only this source's records")

    def handle(self, *args: Any, **options: Any) -> None:
        records = QuarantinedRecord.objects.filter(reprocessed_at__isnull=True)
        if options["source"]:
            records = records.filter(source__name=options["source"])
        report = quarantine_reprocess(records=records, actor=None, now=timezone.now())
        self.stdout.write(
            f"reprocessed {report.attempted}: {report.stored} stored, "
            f"{report.still_failing} still quarantined"
            + (
                f"; {report.summaries_skipped} summary row(s) skipped (records counted, "
                "not kept: resend them)"
                if report.summaries_skipped
                else ""
            )
        )
