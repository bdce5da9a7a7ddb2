"""The audit log: every change to alerts, incidents, rules, intel, sources and users.

Each entry's MAC covers the previous entry's MAC, so editing, deleting or reordering a
row breaks the chain from that point on. Writers serialise on a transaction-scoped
advisory lock; the chain is written inside the caller's transaction, so an audited
change and its audit entry commit or roll back together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from .client_address import client_address
from .models import AuditEntry

GENESIS_MAC = "0" * 64
_LOCK_KEY = 0x50C_A0D17  # any constant shared by all writers of the chain


def request_addr(request: Any) -> str | None:
    """The client address of a request (page, admin or API): the one helper that audit
    entries, login lockout and token throttling all use. Behind TRUSTED_PROXIES it is
    read from X-Forwarded-For; otherwise it is the peer (socapp/client_address.py)."""
    return client_address(request.META)


def _canonical(entry: AuditEntry) -> bytes:
    body = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
        "remote_addr": entry.remote_addr,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def _mac(prev_mac: str, entry: AuditEntry) -> str:
    key = settings.AUDIT_HMAC_KEY.encode()
    return hmac.new(key, prev_mac.encode() + _canonical(entry), hashlib.sha256).hexdigest()


def _object_identity(target: Model | None) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    meta = target._meta
    return f"{meta.app_label}.{meta.model_name}", str(target.pk), str(target)[:200]


@dataclass(frozen=True)
class AuditItem:
    """One entry to append (``audit_record_many`` takes several under one lock)."""

    action: str
    target: Model | None = None
    changes: dict[str, Any] | None = None


def audit_record(
    *,
    actor: Any,
    action: str,
    target: Model | None = None,
    changes: dict[str, Any] | None = None,
    remote_addr: str | None = None,
) -> AuditEntry:
    """Append one entry. ``actor`` is a user, or None for the system itself."""
    (entry,) = audit_record_many(
        actor=actor, items=[AuditItem(action, target, changes)], remote_addr=remote_addr
    )
    return entry


def audit_record_many(
    *, actor: Any, items: list[AuditItem], remote_addr: str | None = None
) -> list[AuditEntry]:
    """Append entries in order. The chain's lock is held from here to the end of the
    caller's transaction, so long transactions (a correlation batch) call this once, at
    their end, rather than once per change."""
    if not items:
        return []
    user_id = getattr(actor, "pk", None)
    entries = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        head = AuditEntry.objects.order_by("-seq").only("seq", "mac").first()
        seq, prev_mac = (head.seq, head.mac) if head else (0, GENESIS_MAC)
        now = timezone.now()
        for item in items:
            object_type, object_id, object_repr = _object_identity(item.target)
            seq += 1
            entry = AuditEntry(
                seq=seq,
                at=now,
                actor_id=user_id,
                actor_name=getattr(actor, "username", "") or "",
                action=item.action,
                object_type=object_type,
                object_id=object_id,
                object_repr=object_repr,
                changes=_jsonable(item.changes or {}),
                remote_addr=remote_addr,
                prev_mac=prev_mac,
            )
            entry.mac = prev_mac = _mac(entry.prev_mac, entry)
            entries.append(entry)
        AuditEntry.objects.bulk_create(entries)
    return entries


def _jsonable(value: Any) -> Any:
    """What the JSON column will give back, so the MAC is computed over the same data."""
    return json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


def audit_verify() -> list[ChainProblem]:
    """Recompute the chain; an empty list means it is intact."""
    problems: list[ChainProblem] = []
    expected_prev = GENESIS_MAC
    expected_seq = 1
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            problems.append(ChainProblem(entry.seq, f"gap: expected #{expected_seq}"))
        if entry.prev_mac != expected_prev:
            problems.append(ChainProblem(entry.seq, "previous MAC does not match"))
        if not hmac.compare_digest(entry.mac, _mac(entry.prev_mac, entry)):
            problems.append(ChainProblem(entry.seq, "content does not match its MAC"))
        expected_prev = entry.mac
        expected_seq = entry.seq + 1
    return problems


def model_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose values differ."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
