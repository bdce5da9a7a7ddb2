"""Encrypted model fields over Fernet (AES-128-CBC + HMAC-SHA256).

Keys come from ``FIELD_ENCRYPTION_KEYS``, newest first. ``MultiFernet`` decrypts with
any of them and encrypts with the first, so a key is rotated by putting a new one in
front and running ``manage.py rotate_encryption_keys``, then dropping the old one.
Encrypted values cannot be searched or indexed; keep lookups on other columns.

Short secrets in columns other packages define (django-otp's TOTP keys, 80 characters)
are *sealed* instead: AES-256-GCM under a key derived from each of the same keys, bound
to a context (the owner), written ``sealed:`` + 64 base64 characters. One-time codes
people type (backup codes) are kept as keyed digests, never as themselves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid key: {exc}") from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An encrypted value cannot be decrypted with FIELD_ENCRYPTION_KEYS "
            "(was the key that wrote it removed?)"
        ) from exc


def reencrypt_text(token: str) -> str:
    """The same plaintext, encrypted with the newest key."""
    return fernet().rotate(token.encode()).decode()


# ---- sealed secrets and keyed digests -------------------------------------------------

SEALED = "sealed:"
_SEAL_PURPOSE = b"socapp sealed secret v1"
_DIGEST_PURPOSE = b"socapp code digest v1"


@lru_cache(maxsize=16)
def _derived(key: str, purpose: bytes) -> bytes:
    """A 256-bit key for one purpose from one of FIELD_ENCRYPTION_KEYS (HKDF-SHA256)."""
    raw = base64.urlsafe_b64decode(key.encode())
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(raw)


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED)


def seal_secret(secret: bytes, context: str) -> str:
    """``secret`` encrypted with the newest key; ``context`` must match to open it."""
    key = _derived(settings.FIELD_ENCRYPTION_KEYS[0], _SEAL_PURPOSE)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, secret, context.encode())
    return SEALED + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_secret(value: str, context: str) -> bytes:
    blob = base64.urlsafe_b64decode(value[len(SEALED) :].encode())
    for key in settings.FIELD_ENCRYPTION_KEYS:
        try:
            return AESGCM(_derived(key, _SEAL_PURPOSE)).decrypt(
                blob[:12], blob[12:], context.encode()
            )
        except InvalidTag:
            continue
    raise ImproperlyConfigured(
        "A sealed secret cannot be opened with FIELD_ENCRYPTION_KEYS "
        "(was the key that wrote it removed?)"
    )


def reseal_secret(value: str, context: str) -> str:
    """The same secret, sealed with the newest key."""
    return seal_secret(open_secret(value, context), context)


def code_digests(code: str) -> list[str]:
    """The keyed digest of a one-time code under each key, newest first (16 characters:
    96 bits of HMAC-SHA256, so a stolen table cannot be tried offline without the key)."""
    return [
        base64.urlsafe_b64encode(
            hmac.new(_derived(key, _DIGEST_PURPOSE), code.encode(), hashlib.sha256).digest()[:12]
        ).decode()
        for key in settings.FIELD_ENCRYPTION_KEYS
    ]


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt_text(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        return None if value is None else encrypt_text(str(value))


class EncryptedJSONField(models.TextField):
    """A JSON document stored as one Fernet token (a dict of secrets, say)."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(decrypt_text(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return encrypt_text(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return super().formfield(**{"form_class": forms.JSONField, **kwargs})
