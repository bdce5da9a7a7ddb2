"""``flush`` for the test suite: Django's own, run with ``session_replication_role =
replica`` so that the audit log's TRUNCATE guard (a trigger) does not fire.

Transactional tests end with a flush, which TRUNCATEs every table, the audit log and its
anchors included; the guard rightly refuses that. Setting the replication role needs a
superuser, which the test database's user is and the application's role never is: the
suite uses the one bypass the guard documents, nothing weaker. Only the test settings
install this app; ``manage.py flush`` in a deployment still meets the guard.
"""

from django.core.management.commands import flush
from django.db import connections


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET session_replication_role")
