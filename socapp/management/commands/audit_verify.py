"""manage.py audit_verify [--anchors FILE]: recompute the audit log's HMAC chain and hold
it against its anchors."""

import sys
from argparse import FileType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from socapp.audit import audit_verify
from socapp.models import AuditAnchor, AuditEntry


class Command(BaseCommand):
    help = (
        "Check that no audit entry was edited, deleted, reordered or truncated away: the "
        "chain must be intact and as long as every anchor saw. Exit 1 if not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--anchors",
            type=FileType("r", encoding="utf-8"),
            metavar="FILE",
            help="also check against the anchors of FILE ('-' for stdin): an export of "
            "`manage.py audit_anchor --export`, or a shipped log holding the lines of the "
            "socapp.audit.anchor logger",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        lines = options["anchors"] or ()
        try:
            problems = audit_verify(lines)
        finally:
            if options["anchors"] not in (None, sys.stdin):
                options["anchors"].close()
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(f"audit chain broken ({len(problems)} problem(s))")
        self.stdout.write(
            f"audit chain intact: {AuditEntry.objects.count()} entries, "
            f"{AuditAnchor.objects.count()} stored anchors"
        )
