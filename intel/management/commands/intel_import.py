"""manage.py intel_import FILE [--format ...] [--feed NAME] [--mapping ...] [--type ...]"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intel.choices import FeedFormat, IocType
from intel.imports import FILE_FORMATS, Collector, ImportRefused, Limits
from intel.imports.mispfeed import read_directory
from intel.services import intel_import, intel_import_collected

SUFFIXES = {".csv": FeedFormat.CSV, ".zip": FeedFormat.MISP_FEED, ".txt": FeedFormat.LIST}


def guess_format(path: Path) -> str:
    """The format a file's name and first bytes suggest (a directory is a MISP feed)."""
    if path.is_dir():
        return FeedFormat.MISP_FEED
    if path.suffix.lower() in SUFFIXES:
        return SUFFIXES[path.suffix.lower()]
    with path.open("rb") as handle:
        head = handle.read(4096)
    if b'"bundle"' in head:
        return FeedFormat.STIX
    if b'"Event"' in head or b'"response"' in head:
        return FeedFormat.MISP
    return FeedFormat.LIST


class Command(BaseCommand):
    help = (
        "Import a threat-intel file into a feed (created when missing): a STIX 2.1 bundle, "
        "MISP event JSON, a MISP feed (directory or zip), a CSV or a plain list. One "
        "transaction; prints the counts as JSON. Exits with 2 when the file is refused "
        "(malformed or over a limit: nothing stored)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="FILE")
        parser.add_argument(
            "--format", choices=FILE_FORMATS, help="how to read it (default: guessed)"
        )
        parser.add_argument("--feed", help='the feed to import into (default "imports")')
        parser.add_argument("--mapping", help="CSV: field=column pairs, e.g. value=indicator")
        parser.add_argument("--type", choices=IocType.values, help="one type for every row")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        fmt = options["format"] or guess_format(path)
        try:
            if path.is_dir():
                if fmt != FeedFormat.MISP_FEED:
                    raise CommandError("A directory can only be read as a MISP feed.")
                collector = Collector(Limits.from_settings())
                read_directory(path, collector)
                result = intel_import_collected(
                    actor=None, collector=collector, fmt=fmt, feed_name=options["feed"],
                    origin=str(path),
                )  # fmt: skip
            else:
                limits = Limits.from_settings()
                limits.check_bytes(path.stat().st_size, path.name)
                result = intel_import(
                    actor=None, data=path.read_bytes(), fmt=fmt, feed_name=options["feed"],
                    mapping=options["mapping"], ioc_type=options["type"], origin=path.name,
                )  # fmt: skip
        except ImportRefused as exc:
            self.stderr.write(f"Refused: {exc}")
            raise SystemExit(2) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result.as_dict(), indent=2))
