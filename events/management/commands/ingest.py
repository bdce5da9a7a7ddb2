"""manage.py ingest --source NAME [--format FMT] PATH..."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from events.choices import LogFormat
from events.files import FileReport, file_ingest
from events.inflate import InputRefused, Limits
from events.models import Source


class Progress:
    """One line on stderr, rewritten in place: records so far and the current file."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream, self.enabled = stream, enabled
        self.done, self.started, self.name = 0, time.monotonic(), ""

    def __call__(self, records: int) -> None:
        self.done += records
        if self.enabled:
            rate = self.done / max(time.monotonic() - self.started, 1e-6)
            self.stream.write(f"\r{self.name}: {self.done:,} records ({rate:,.0f}/s)   ")
            self.stream.flush()

    def end(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")


class Command(BaseCommand):
    help = (
        "Ingest log files into a source: plain logs, .gz, .zip, .jsonl/.json and .evtx. "
        "Prints a summary; exits with status 1 when anything was quarantined, 2 when a "
        "file was refused (over a limit: nothing of it stored) or could not be read whole "
        "(truncated, corrupt: what was readable is stored). Ingesting the same file twice "
        "stores nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--source", required=True, help="the source's name")
        parser.add_argument(
            "--format",
            choices=LogFormat.values,
            help="parser to use (default: the source's format)",
        )
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--max-inflated-bytes",
            type=int,
            help="what one file may decompress to (default: FILE_MAX_INFLATED_BYTES); "
            "raise it for a large archive you trust",
        )
        parser.add_argument(
            "--max-ratio",
            type=float,
            help="compression ratio refused as a bomb (default: DECOMPRESSION_MAX_RATIO)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            source = Source.objects.get(name=options["source"])
        except Source.DoesNotExist as exc:
            raise CommandError(f"no source named {options['source']!r}") from exc
        paths = [Path(p) for p in options["paths"]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise CommandError(f"not a file: {', '.join(missing)}")
        # The stream under Django's wrapper, whose write would end every update with a newline.
        raw_stderr = cast(TextIO, self.stderr._out)
        progress = Progress(raw_stderr, not options["no_progress"] and sys.stderr.isatty())
        limits = Limits.for_files(
            max_bytes=options["max_inflated_bytes"], max_ratio=options["max_ratio"]
        )
        report = FileReport()
        refused: list[str] = []
        started = time.monotonic()
        for path in paths:
            progress.name = path.name
            try:
                file_ingest(
                    source=source,
                    name=path.name,
                    path=path,
                    log_format=options["format"],
                    progress=progress,
                    report=report,
                    limits=limits,
                )
            except InputRefused as exc:
                refused.append(f"{path}: refused, nothing of it stored: {exc}")
        progress.end()
        elapsed = time.monotonic() - started
        self._summary(report, elapsed)
        problems = refused + [f"not read whole: {p}" for p in report.problems]
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            sys.exit(2)
        if report.quarantined:
            sys.exit(1)

    def _summary(self, report: FileReport, elapsed: float) -> None:
        total = report.accepted + report.duplicates + report.quarantined
        self.stdout.write(
            f"{report.files} file(s), {total:,} records in {elapsed:.1f}s: "
            f"{report.accepted:,} accepted, {report.duplicates:,} duplicates, "
            f"{report.quarantined:,} quarantined"
            + (
                f", {report.already_ingested:,} already ingested before (same file)"
                if report.already_ingested
                else ""
            )
        )
        for error in report.errors[:20]:
            self.stdout.write(f"  line {error['line']}: {error['reason']}")
        if len(report.errors) > 20 or report.quarantined > len(report.errors):
            self.stdout.write("  ... see the quarantine in the admin for all of them")
