"""manage.py rotate_encryption_keys: re-encrypt every encrypted field with the newest key."""

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from socapp.crypto import EncryptedJSONField, EncryptedTextField, reencrypt_text, reseal_secret
from socapp.models import AuthenticatorApp


class Command(BaseCommand):
    help = (
        "Re-encrypt all encrypted fields and sealed TOTP secrets with the first key of "
        "FIELD_ENCRYPTION_KEYS. Afterwards the older keys can be removed (backup codes "
        "made under a removed key stop working: their users make new ones)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            fields = [
                f
                for f in model._meta.concrete_fields
                if isinstance(f, EncryptedTextField | EncryptedJSONField)
            ]
            for field in fields:
                pk_column, column = model._meta.pk.column, field.column
                assert pk_column and column  # concrete fields always have a column
                total += self._rotate(model._meta.db_table, pk_column, column)
        total += self._reseal_totp_secrets()
        self.stdout.write(f"re-encrypted {total} value(s)")

    @staticmethod
    def _reseal_totp_secrets() -> int:
        count = 0
        with transaction.atomic():
            for device in AuthenticatorApp.objects.select_for_update():
                device.key = reseal_secret(device.key, device.secret_context)
                device.save(update_fields=["key"])
                count += 1
        return count

    @staticmethod
    def _rotate(table: str, pk: str, column: str) -> int:
        quote = connection.ops.quote_name
        count = 0
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "  # noqa: S608
                f"WHERE {quote(column)} IS NOT NULL FOR UPDATE"
            )
            for pk_value, token in cursor.fetchall():
                cursor.execute(
                    f"UPDATE {quote(table)} SET {quote(column)} = %s "  # noqa: S608
                    f"WHERE {quote(pk)} = %s",
                    [reencrypt_text(token), pk_value],
                )
                count += 1
        return count
