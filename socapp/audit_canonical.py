"""What an audit entry's MAC covers, written so that a round trip through PostgreSQL
cannot change it.

The database is not a neutral store: ``jsonb`` keeps numbers as ``numeric`` (the float
``1e20``, written as ``1e+20``, comes back as the integer 100000000000000000000, and
``-0.0`` as ``0.0``), refuses NUL (``\\u0000``) and lone surrogates, reorders keys;
``inet`` rewrites addresses; ``timestamptz`` keeps microseconds. A MAC computed over
what Python held before the insert therefore failed on entries nobody touched, and
anyone able to put one float into an audited field could plant such a false alarm.

Format 2 (``MAC_VERSION``) fixes this in two steps, the same on both sides:

* ``clean_json`` turns a value into the form the database keeps, and the writer stores
  that form (so what is shown is what is MAC'd): integral floats become the exact
  integer their decimal text names (``1e20`` -> 10**20, ``1.0`` -> 1, ``-0.0`` -> 0),
  other finite floats stay floats (PostgreSQL keeps their shortest decimal text
  exactly, and Python reads it back to the same float), NaN and infinities become the
  strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, integers too long to print become
  a string saying so, NUL and lone surrogates become U+FFFD, keys become strings the
  way ``json`` makes them, anything else (dates, decimals, UUIDs) becomes ``str()``.
  It is idempotent, and stable across a jsonb round trip.
* ``canonical_v2`` serialises the cleaned entry: sorted keys, no spaces, ASCII only,
  the time as UTC with microseconds, the address as its 16 or 4 bytes in hex (the text
  form of an address differs between Python versions and PostgreSQL).

Format 1 (entries written before this) is kept exactly as it was, so old chains still
verify; ``v1_alternatives`` also accepts the one drift format 1 is known to suffer
(floats of 1e16 and above that came back as integers), so the false alarms it raised
on untouched entries go away without accepting any other change.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

MAC_VERSION = 2

# Python refuses to print integers of more than 4300 digits (sys.int_info); stay under.
_MAX_INT_BITS = 14_000
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def clean_text(value: str) -> str:
    """Text the database stores unchanged: NUL and lone surrogates become U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, value)


def _clean_number(value: int | float) -> int | float | str:
    if isinstance(value, int):
        if value.bit_length() > _MAX_INT_BITS:
            return f"<integer of {value.bit_length()} bits>"
        return value
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer():
        # The integer the float's decimal text names (what numeric keeps), not the
        # float's binary value: int(1e300) has 300 digits of noise, 10**300 has none.
        return int(Decimal(repr(value)))
    return value


def _clean_key(key: Any) -> str:
    if isinstance(key, str):
        return clean_text(key)
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)  # what json.dumps does with such a key
    return clean_text(str(key))


def clean_json(value: Any) -> Any:
    """``value`` as the JSON the database will give back (see the module's doc)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _clean_number(value)
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_clean_key(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return clean_text(str(value))


def clean_addr(value: str | None) -> str | None:
    """An address as ``inet`` stores it; None for anything that is not one (the column
    would refuse it, and the audited change with it)."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # Scope ids ("fe80::1%eth0") are not stored by inet: drop them.
    return str(ipaddress.ip_address(address.packed))


def _addr_bytes(value: str | None) -> str | None:
    return ipaddress.ip_address(value).packed.hex() if value else None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode()


def canonical_v2(entry: Any) -> bytes:
    """The bytes format 2 MACs; ``entry`` as written or as read back."""
    return _dumps(
        {
            "v": 2,
            "seq": entry.seq,
            "at": _utc(entry.at),
            "actor_id": entry.actor_id,
            "actor_name": clean_text(entry.actor_name),
            "action": clean_text(entry.action),
            "object_type": clean_text(entry.object_type),
            "object_id": clean_text(entry.object_id),
            "object_repr": clean_text(entry.object_repr),
            "changes": clean_json(entry.changes),
            "remote_addr": _addr_bytes(clean_addr(entry.remote_addr)),
            "user_agent": clean_text(entry.user_agent),
            "result": clean_text(entry.result),
        }
    )


def _v1_body(entry: Any, changes: Any) -> bytes:
    body = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "changes": changes,
        "remote_addr": entry.remote_addr,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def canonical_v1(entry: Any) -> bytes:
    """What entries written before format 2 were MAC'd over (unchanged, for old chains)."""
    return _v1_body(entry, entry.changes)


def _was_float(value: int) -> bool:
    """Whether ``value`` is what jsonb makes of a float printed with an exponent."""
    return 10**16 <= abs(value) < 10**309 and int(Decimal(repr(float(value)))) == value


def _floats_again(value: Any, zeros: bool) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and _was_float(value):
        return float(value)
    if zeros and isinstance(value, float) and value == 0.0:
        return -0.0
    if isinstance(value, dict):
        return {k: _floats_again(v, zeros) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats_again(v, zeros) for v in value]
    return value


def v1_alternatives(entry: Any) -> Iterator[bytes]:
    """Other renderings of a format 1 entry's *same values* that its writer may have
    MAC'd: integers of 1e16 and above that a float's exponent text (``1e+20``) became
    in jsonb, printed as that float again; and ``0.0`` that was ``-0.0``. Only the
    printing differs, never a value, so accepting them lets nobody change what an entry
    says."""
    seen = {json.dumps(entry.changes)}
    for zeros in (False, True):
        again = _floats_again(entry.changes, zeros)
        text = json.dumps(again)
        if text not in seen:
            seen.add(text)
            yield _v1_body(entry, again)
