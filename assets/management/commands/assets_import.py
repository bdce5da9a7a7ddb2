"""manage.py assets_import FILE: import a CSV inventory (docs/ASSETS.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assets.importing import MAX_BYTES, assets_import
from assets.management.reading import read_capped


class Command(BaseCommand):
    help = (
        "Import assets from a CSV file (header: name, type, ip_addresses, mac_addresses, "
        "hostnames, os, owner, team, criticality, tags, attributes). One transaction; "
        "prints the counts and each skipped line's reason as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        content = read_capped(path, MAX_BYTES)
        try:
            result = assets_import(actor=None, content=content)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(json.dumps(result.as_dict(), indent=2))
