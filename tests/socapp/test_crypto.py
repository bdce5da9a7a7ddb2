"""Secrets in the database are Fernet-encrypted, and keys rotate."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from events.models import Source
from tests.factories import SourceFactory


def raw_secret(source_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_configuration FROM sources WHERE id = %s", [source_id])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_secret_configuration_is_encrypted_at_rest():
    source = SourceFactory(secret_configuration={"api_key": "hunter2-very-secret"})
    stored = raw_secret(source.pk)
    assert "hunter2" not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert Source.objects.get(pk=source.pk).secret_configuration == {
        "api_key": "hunter2-very-secret"
    }


@pytest.mark.django_db
def test_rotation_reencrypts_with_the_newest_key(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    source = SourceFactory(secret_configuration={"token": "abc"})
    before = raw_secret(source.pk)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    after = raw_secret(source.pk)
    assert after != before
    Fernet(new_key.encode()).decrypt(after.encode())  # the new key alone reads it now
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert Source.objects.get(pk=source.pk).secret_configuration == {"token": "abc"}
