"""Bearer tokens: random, recognisably prefixed, shown once, stored only as a digest.

Two kinds share this format and never mix: personal API tokens (``socapp_pat_``) act
with their user's permissions; source ingest tokens (``socapp_src_``) may only send
events for one source. Tokens carry 256 bits of randomness, so a plain SHA-256 digest
is enough at rest (a slow password hash buys nothing against a random secret) and it
lets the database find a token by an indexed equality lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

PERSONAL_PREFIX = "socapp_pat_"
SOURCE_PREFIX = "socapp_src_"
# How many characters after the kind prefix are kept in clear to tell tokens apart.
VISIBLE_CHARS = 6


@dataclass(frozen=True)
class NewToken:
    plaintext: str  # give to the user once, never store
    lookup_prefix: str  # kind prefix + first characters, safe to display
    digest: str  # what the database keeps


def token_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def token_generate(kind_prefix: str) -> NewToken:
    plaintext = kind_prefix + secrets.token_urlsafe(32)
    return NewToken(
        plaintext=plaintext,
        lookup_prefix=plaintext[: len(kind_prefix) + VISIBLE_CHARS],
        digest=token_digest(plaintext),
    )


def bearer_token_from_header(header_value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not header_value:
        return None
    scheme, _, token = header_value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
