"""manage.py audit_verify: recompute the audit log's HMAC chain."""

from django.core.management.base import BaseCommand, CommandError

from socapp.audit import audit_verify
from socapp.models import AuditEntry


class Command(BaseCommand):
    help = "Check that no audit entry was edited, deleted or reordered. Exit 1 if any was."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        problems = audit_verify()
        for problem in problems:
            self.stderr.write(f"#{problem.seq}: {problem.reason}")
        if problems:
            raise CommandError(f"audit chain broken ({len(problems)} problem(s))")
        self.stdout.write(f"audit chain intact: {AuditEntry.objects.count()} entries")
