"""manage.py generate_fernet_key: a new key for FIELD_ENCRYPTION_KEYS."""

from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new Fernet key. Put it first in FIELD_ENCRYPTION_KEYS to rotate."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        self.stdout.write(Fernet.generate_key().decode())
