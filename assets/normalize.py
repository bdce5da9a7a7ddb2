"""Canonical forms of what identifies an asset, so lookups are plain equality.

Each function answers the canonical text, or raises ``ValueError`` naming what is wrong
(the API, the CSV import and the admin show it as is).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Callable, Iterable

from .models import MAX_ADDRESSES, MAX_HOSTNAME_LENGTH, MAX_TAG_LENGTH, MAX_TAGS

_HEX12 = re.compile(r"^[0-9a-f]{12}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_TAG = re.compile(r"^[\w.:/-]+$")


def ip(text: str) -> str:
    value = str(text).strip()
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value[:60]!r} is not an IP address") from None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def mac(text: str) -> str:
    """``AA-BB-CC-DD-EE-FF``, ``aabb.ccdd.eeff`` and ``aa:bb:...`` all become
    ``aa:bb:cc:dd:ee:ff``."""
    value = str(text).strip().lower()
    digits = re.sub(r"[:.\-]", "", value)
    if len(value) > 17 or not _HEX12.match(digits):
        raise ValueError(f"{value[:60]!r} is not a MAC address")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def hostname(text: str) -> str:
    value = str(text).strip().lower().rstrip(".")
    if not value or len(value) > MAX_HOSTNAME_LENGTH:
        raise ValueError(f"{value[:60]!r} is not a host name (1-{MAX_HOSTNAME_LENGTH} chars)")
    if not all(_LABEL.match(label) for label in value.split(".")):
        raise ValueError(f"{value[:60]!r} is not a host name")
    return value


def tag(text: str) -> str:
    value = str(text).strip().lower()
    if not value or len(value) > MAX_TAG_LENGTH or not _TAG.match(value):
        raise ValueError(f"{value[:60]!r} is not a tag (letters, digits, . : / - _)")
    return value


def many(
    values: Iterable[str], one: Callable[[str], str], *, what: str, limit: int = MAX_ADDRESSES
) -> list[str]:
    """Each value canonical, duplicates dropped, order kept; at most ``limit`` given
    (only ``limit + 1`` are ever read, so a huge list costs no more than a long one)."""
    given = list(itertools.islice(values, limit + 1))
    if len(given) > limit:
        raise ValueError(f"at most {limit} {what}")
    out: list[str] = []
    for value in given:
        canonical = one(value)
        if canonical not in out:
            out.append(canonical)
    return out


def tags(values: Iterable[str]) -> list[str]:
    return many(values, tag, what="tags", limit=MAX_TAGS)
