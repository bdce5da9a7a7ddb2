"""The audit log: every change to alerts, incidents, rules, intel, sources and users, and
every access that matters (logins, refusals, reads of cases and their evidence).

Each entry's MAC covers the previous entry's MAC, so editing, deleting or reordering a
row breaks the chain from that point on; anchors (socapp/audit_anchor.py) catch the
deletion of the newest rows, which leaves no break. Writers serialise on a
transaction-scoped advisory lock; the chain is written inside the caller's transaction,
so an audited change and its audit entry commit or roll back together.

What the MAC covers, and why it survives the database: socapp/audit_canonical.py.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from .audit_canonical import (
    MAC_VERSION,
    canonical_v1,
    canonical_v2,
    clean_addr,
    clean_json,
    clean_text,
    v1_alternatives,
)
from .bulk import copy_insert
from .client_address import client_address
from .models import AuditEntry
from .users import RequestUser

GENESIS_MAC = "0" * 64
_LOCK_KEY = 0x50C_A0D17  # any constant shared by all writers of the chain
USER_AGENT_MAX = 512


def request_addr(request: Any) -> str | None:
    """The client address of a request (page, admin or API): the one helper that audit
    entries, login lockout and token throttling all use. Behind TRUSTED_PROXIES it is
    read from X-Forwarded-For; otherwise it is the peer (socapp/client_address.py)."""
    return client_address(request.META)


def request_user_agent(request: Any) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]


@dataclass
class RequestContext:
    """Who is on the other end of the request being served (set by
    socapp.audit_access.AuditMiddleware): entries written while it runs record its
    address and user agent unless the caller passes them, and the middleware learns
    whether the request has been audited already."""

    remote_addr: str | None
    user_agent: str
    entries: int = 0
    handled: bool = False  # a refusal or failure was recorded (or deliberately coalesced)


_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "socapp_audit_request", default=None
)


def request_context() -> RequestContext | None:
    return _context.get()


def enter_request(request: Any) -> contextvars.Token:
    return _context.set(RequestContext(request_addr(request), request_user_agent(request)))


def leave_request(token: contextvars.Token) -> None:
    _context.reset(token)


def _mac(prev_mac: str, body: bytes) -> str:
    key = settings.AUDIT_HMAC_KEY.encode()
    return hmac.new(key, prev_mac.encode() + body, hashlib.sha256).hexdigest()


def _object_identity(target: Model | None) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    meta = target._meta
    return f"{meta.app_label}.{meta.model_name}", str(target.pk)[:64], str(target)[:200]


@dataclass(frozen=True)
class AuditItem:
    """One entry to append (``audit_record_many`` takes several under one lock)."""

    action: str
    target: Model | None = None
    changes: dict[str, Any] | None = None
    result: str = AuditEntry.Result.ALLOWED


def audit_record(
    *,
    actor: RequestUser | None,
    action: str,
    target: Model | None = None,
    changes: dict[str, Any] | None = None,
    remote_addr: str | None = None,
    user_agent: str | None = None,
    result: str = AuditEntry.Result.ALLOWED,
    actor_name: str | None = None,
) -> AuditEntry:
    """Append one entry. ``actor`` is a user, or None for the system itself (or for
    someone unknown: ``actor_name`` then says who they claimed to be)."""
    (entry,) = audit_record_many(
        actor=actor,
        items=[AuditItem(action, target, changes, result)],
        remote_addr=remote_addr,
        user_agent=user_agent,
        actor_name=actor_name,
    )
    return entry


def audit_record_many(
    *,
    actor: RequestUser | None,
    items: list[AuditItem],
    remote_addr: str | None = None,
    user_agent: str | None = None,
    actor_name: str | None = None,
) -> list[AuditEntry]:
    """Append entries in order. The chain's lock is held from here to the end of the
    caller's transaction, so long transactions (a correlation batch) call this once, at
    their end, rather than once per change."""
    if not items:
        return []
    context = request_context()
    if context is not None:
        remote_addr = remote_addr or context.remote_addr
        user_agent = context.user_agent if user_agent is None else user_agent
        context.entries += len(items)
    user_id = getattr(actor, "pk", None)
    name = getattr(actor, "username", "") if actor_name is None else actor_name
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
            # Stored in the form the database keeps, so that what is shown, what is
            # read back and what is MAC'd are one and the same (audit_canonical.py).
            entry = AuditEntry(
                seq=seq,
                at=now,
                actor_id=user_id,
                actor_name=clean_text(name or "")[:150],
                action=clean_text(item.action)[:64],
                object_type=clean_text(object_type),
                object_id=clean_text(object_id),
                object_repr=clean_text(object_repr),
                changes=clean_json(item.changes or {}),
                remote_addr=clean_addr(remote_addr),
                user_agent=clean_text(user_agent or "")[:USER_AGENT_MAX],
                result=item.result,
                mac_version=MAC_VERSION,
                prev_mac=prev_mac,
            )
            entry.mac = prev_mac = _mac(entry.prev_mac, canonical_v2(entry))
            entries.append(entry)
        copy_insert(entries)
    return entries


# ---- verification ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None  # the entry concerned; None for what concerns the chain as a whole
    reason: str

    def __str__(self) -> str:
        return self.reason if self.seq is None else f"#{self.seq}: {self.reason}"


def _bodies(entry: AuditEntry) -> Iterator[bytes]:
    if entry.mac_version == 2:
        yield canonical_v2(entry)
    elif entry.mac_version == 1:
        yield canonical_v1(entry)
        yield from v1_alternatives(entry)


def entry_mac_matches(entry: AuditEntry) -> bool:
    return any(hmac.compare_digest(entry.mac, _mac(entry.prev_mac, b)) for b in _bodies(entry))


def _format_problems(entry: AuditEntry, newest_format: int) -> list[str]:
    if entry.mac_version not in (1, 2):
        return [f"unknown MAC format {entry.mac_version}"]
    if entry.mac_version < newest_format:
        return [f"MAC format {entry.mac_version} after format {newest_format} (downgraded)"]
    if entry.mac_version == 1 and (entry.user_agent or entry.result != "allowed"):
        # Format 1 entries predate these fields, which their MAC does not cover.
        return ["user agent or result set on an entry written before they existed"]
    return []


@dataclass
class ChainWalk:
    """What a walk over the chain saw, for the anchor checks."""

    count: int = 0
    head_seq: int = 0
    macs_at: dict[int, str] = field(default_factory=dict)  # seq -> mac, anchored seqs only
    counts_at: dict[int, int] = field(default_factory=dict)  # seq -> entries up to it


def walk_chain(
    entries: Iterable[AuditEntry], anchored: set[int]
) -> tuple[list[ChainProblem], ChainWalk]:
    problems: list[ChainProblem] = []
    seen = ChainWalk()
    expected_prev = GENESIS_MAC
    expected_seq = 1
    newest_format = 1
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(ChainProblem(entry.seq, f"gap: expected #{expected_seq}"))
        if entry.prev_mac != expected_prev:
            problems.append(ChainProblem(entry.seq, "previous MAC does not match"))
        problems += [ChainProblem(entry.seq, r) for r in _format_problems(entry, newest_format)]
        if not entry_mac_matches(entry):
            problems.append(ChainProblem(entry.seq, "content does not match its MAC"))
        newest_format = max(newest_format, entry.mac_version)
        expected_prev = entry.mac
        expected_seq = entry.seq + 1
        seen.count += 1
        seen.head_seq = entry.seq
        if entry.seq in anchored:
            seen.macs_at[entry.seq] = entry.mac
            seen.counts_at[entry.seq] = seen.count
    return problems, seen


def audit_verify(anchor_lines: Iterable[str] = ()) -> list[ChainProblem]:
    """Recompute the chain and hold it against every anchor (the anchor table's, and
    those of ``anchor_lines``: an exported or shipped anchor stream). An empty list
    means it is intact."""
    from .audit_anchor import check_against_anchors, gather_anchors

    anchors, problems = gather_anchors(anchor_lines)
    entries = AuditEntry.objects.order_by("seq").iterator(chunk_size=2000)
    chain_problems, seen = walk_chain(entries, {a.head_seq for a in anchors})
    return problems + chain_problems + check_against_anchors(anchors, seen)


def model_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose values differ."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
