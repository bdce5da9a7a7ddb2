"""manage.py vulns_import FILE [--format nessus|openvas|csv]: import a scanner report
(docs/ASSETS.md, "Vulnerabilities")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assets.management.reading import read_capped
from assets.vulns.base import Limits, ReportRefused
from assets.vulns.store import FORMATS, vulns_import

SUFFIXES = {".nessus": "nessus", ".csv": "csv", ".xml": "openvas"}


class Command(BaseCommand):
    help = (
        "Import a vulnerability scanner report (Nessus .nessus, OpenVAS/Greenbone XML, CSV) "
        "as findings on the inventory's assets. One transaction; prints the counts as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--format", choices=FORMATS, help="default: by suffix (.nessus, .xml, .csv)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        fmt = options["format"] or SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise CommandError(f"Give --format: one of {', '.join(FORMATS)}.")
        content = read_capped(path, Limits().max_bytes)
        try:
            result = vulns_import(actor=None, content=content, fmt=fmt)
        except ReportRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result.as_dict(), indent=2))
