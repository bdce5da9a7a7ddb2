"""Auditing access, not only change: logins and logouts, failed logins and tokens,
permission refusals, and reads of alerts, incidents and their evidence.

* ``AuditMiddleware`` wraps every request: entries written while it runs record the
  client's address (``request_addr``) and user agent; a 403 becomes an
  ``access.denied`` entry; what a view noted it showed (``note_read``, ``note_list``)
  becomes one read entry, written after the response in a transaction of its own,
  unless the request was audited already (a download audits itself).
* Failures and refusals come from whoever can reach us, so they are *bounded*: per kind
  (failed token, failed login, refusal) at most ``AUDIT_FAILURE_BURST`` entries are
  written per ``AUDIT_FAILURE_WINDOW_SECONDS`` window; beyond that they are counted in
  Redis per client address (the first 20 addresses, the rest together) and written as
  one ``<kind>.suppressed`` entry once the window has closed (by the next failure of a
  later window, or by the anchor task). A flood of N bad tokens costs at most
  burst + 1 entries per window, and one Redis round trip per request.
* Lists are recorded by the ids they showed, the first ``ID_CAP`` of them, with the count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from redis.exceptions import RedisError

from .audit import audit_record, enter_request, leave_request, request_context
from .jwt_tokens import looks_like_jwt
from .kv import kv, text
from .models import AuditEntry
from .tokens import PERSONAL_PREFIX, SOURCE_PREFIX, VISIBLE_CHARS

logger = logging.getLogger(__name__)

ID_CAP = 50  # ids kept per list read
TEXT_CAP = 300  # paths, reasons
TOP_CLIENTS = 20  # client addresses tallied by name in a suppressed-summary entry
DENIED = "access.denied"
TOKEN_FAILED = "auth.token_failed"  # noqa: S105  an action's name, not a secret
LOGIN_FAILED = "auth.login_failed"
_NOTE = "_socapp_audit_read"
_REASON = "_socapp_audit_denied"


def _django_request(request: Any) -> HttpRequest:
    """The HttpRequest under a DRF Request (notes must reach the middleware)."""
    return getattr(request, "_request", request)


# ---- reads ----------------------------------------------------------------------------


@dataclass
class ReadNote:
    action: str
    target: Model | None = None
    lists: dict[str, list[str]] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    def changes(self) -> dict[str, Any]:
        shown = {k: {"ids": ids[:ID_CAP], "count": len(ids)} for k, ids in self.lists.items()}
        return {**shown, **self.detail}

    @property
    def empty(self) -> bool:
        return self.target is None and not any(self.lists.values())


def _note(request: Any) -> ReadNote | None:
    return getattr(_django_request(request), _NOTE, None)


def note_read(request: Any, action: str, target: Model | None = None, **detail: Any) -> None:
    """Say that this request shows ``target`` (a detail page, an API object, a part of
    a page). The first note of a request names its entry; later ones add to it."""
    note = _note(request)
    if note is None:
        setattr(_django_request(request), _NOTE, ReadNote(action, target, detail=detail))
        return
    if note.target is None:
        note.target = target
    note.detail.update({k: v for k, v in detail.items() if k not in note.detail})


def note_list(request: Any, action: str, kind: str, objects: Iterable[Any]) -> None:
    """Say that this request lists ``objects`` (models or ids) under ``kind``."""
    ids = [str(getattr(o, "pk", o)) for o in objects]
    note_read(request, action)
    note = _note(request)
    assert note is not None  # note_read made it
    note.lists.setdefault(kind, []).extend(ids)


def _write_read(request: HttpRequest, note: ReadNote) -> None:
    audit_record(
        actor=_user(request),
        action=note.action,
        target=note.target,
        changes=note.changes(),
    )


# ---- refusals and failures ------------------------------------------------------------


def note_denial_reason(request: Any, reason: str) -> None:
    """Why a 403 is about to be answered (the middleware writes the entry)."""
    setattr(_django_request(request), _REASON, str(reason)[:TEXT_CAP])


def _user(request: Any) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _denial_changes(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    changes: dict[str, Any] = {
        "method": request.method,
        "path": request.path[:TEXT_CAP],
        "reason": getattr(request, _REASON, ""),
    }
    if match is not None:
        changes["view"] = (match.view_name or "")[:TEXT_CAP]
        changes["object"] = {k: str(v)[:64] for k, v in list(match.kwargs.items())[:5]}
    return changes


def _record_denial(request: HttpRequest) -> None:
    record_bounded(
        DENIED,
        client=_client(request),
        write=lambda: audit_record(
            actor=_user(request),
            action=DENIED,
            changes=_denial_changes(request),
            result=AuditEntry.Result.DENIED,
        ),
    )


def audit_websocket_refusal(scope: Mapping[str, Any], user: Any, reason: str) -> None:
    """A signed-in user refused by a websocket route (no role, or a second factor still
    owed): an ``access.denied`` entry like a 403's, bounded like every refusal. The
    address and user agent come from the handshake, as a request's would."""
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers") or []
    }
    peer = (scope.get("client") or [None])[0]
    from .audit import USER_AGENT_MAX
    from .client_address import client_address

    addr = client_address(
        {"REMOTE_ADDR": peer or "", "HTTP_X_FORWARDED_FOR": headers.get("x-forwarded-for", "")}
    )
    changes = {
        "method": "WEBSOCKET",
        "path": str(scope.get("path", ""))[:TEXT_CAP],
        "reason": reason[:TEXT_CAP],
    }
    record_bounded(
        DENIED,
        client=addr,
        write=lambda: audit_record(
            actor=user,
            action=DENIED,
            changes=changes,
            remote_addr=addr,
            user_agent=headers.get("user-agent", "")[:USER_AGENT_MAX],
            result=AuditEntry.Result.DENIED,
        ),
    )


def _client(request: Any) -> str | None:
    context = request_context()
    if context is not None:
        return context.remote_addr
    from .audit import request_addr

    return request_addr(request)


def visible_token_prefix(token: str) -> str:
    """What of a presented token is safe to record: its kind and the few characters that
    are shown anyway (tokens.VISIBLE_CHARS), never the secret part."""
    for prefix in (PERSONAL_PREFIX, SOURCE_PREFIX):
        if token.startswith(prefix):
            return token[: len(prefix) + VISIBLE_CHARS]
    if looks_like_jwt(token):  # every part of a JWT is signed over: keep none of it
        return f"(a JWT, {len(token)} characters)"
    return f"(not a socapp token, {len(token)} characters)"


def audit_token_failure(
    request: Any,
    *,
    reason: str,
    presented: str,
    user: Any = None,
    target: Model | None = None,
) -> None:
    """A bearer token that did not get in (unknown, revoked, expired, the wrong kind, a
    deactivated user, an inactive source), bounded like every failure."""
    changes = {
        "reason": reason[:TEXT_CAP],
        "token": visible_token_prefix(presented),
        "path": _django_request(request).path[:TEXT_CAP],
    }
    record_bounded(
        TOKEN_FAILED,
        client=_client(request),
        write=lambda: audit_record(
            actor=user,
            action=TOKEN_FAILED,
            target=target,
            changes=changes,
            result=AuditEntry.Result.FAILED,
        ),
    )


@receiver(user_logged_in, dispatch_uid="socapp.audit.login")
def _logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    audit_record(actor=user, action="auth.login", target=None)


@receiver(user_logged_out, dispatch_uid="socapp.audit.logout")
def _logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None:  # logging out a session that had no login is no event
        audit_record(actor=user, action="auth.logout", target=None)


@receiver(user_login_failed, dispatch_uid="socapp.audit.login_failed")
def _login_failed(
    sender: Any, credentials: dict | None = None, request: Any = None, **kwargs: Any
) -> None:
    # The name tried is who the attempt claimed to be, not someone who acted.
    given = credentials or {}
    tried = str(given.get("username", ""))[:150]
    changes = {"username": tried}
    if given.get("factor"):  # a wrong second-factor code after the password
        changes["factor"] = str(given["factor"])[:40]
    record_bounded(
        LOGIN_FAILED,
        client=_client(request) if request is not None else None,
        write=lambda: audit_record(
            actor=None,
            actor_name=tried,
            action=LOGIN_FAILED,
            changes=changes,
            result=AuditEntry.Result.FAILED,
        ),
    )


# ---- the bound ------------------------------------------------------------------------

_PREFIX = "socapp:audit:bound"
_PENDING = f"{_PREFIX}:pending"
# KEYS: count, tallies, pending set. ARGV: burst, client, top, ttl, pending member.
# Returns the failure's number in its window when it is to be written, 0 when it is
# only counted.
_TAKE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
if n <= tonumber(ARGV[1]) then return n end
local client = ARGV[2]
if redis.call('HEXISTS', KEYS[2], client) == 0
   and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[3]) then
  client = '(others)'
end
redis.call('HINCRBY', KEYS[2], client, 1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[5])
return 0
"""
_local_lock = threading.Lock()
_local_counts: dict[tuple[str, int], int] = {}


def _window(now: float) -> int:
    return int(now) // settings.AUDIT_FAILURE_WINDOW_SECONDS


def _take(kind: str, client: str | None, window: int) -> int:
    seconds = settings.AUDIT_FAILURE_WINDOW_SECONDS
    keep = max(3600, 4 * seconds)  # a summary may wait for the anchor task
    key = f"{_PREFIX}:{kind}:{window}"
    take = kv().register_script(_TAKE)  # EVALSHA, the script sent again only if unknown
    return int(
        take(
            keys=[f"{key}:n", f"{key}:by", _PENDING],
            args=[
                settings.AUDIT_FAILURE_BURST,
                client or "(unknown)",
                TOP_CLIENTS,
                keep,
                f"{kind}:{window}",
            ],
        )
    )


def _take_locally(kind: str, window: int) -> int:
    """Without Redis: the same burst, per process; what is beyond it is only logged."""
    with _local_lock:
        for stale in [k for k in _local_counts if k[1] < window]:
            del _local_counts[stale]
        count = _local_counts[(kind, window)] = _local_counts.get((kind, window), 0) + 1
    if count == settings.AUDIT_FAILURE_BURST + 1:
        logger.warning("Redis unavailable: more %s entries in this window are not written", kind)
    return count if count <= settings.AUDIT_FAILURE_BURST else 0


def record_bounded(kind: str, *, client: str | None, write: Callable[[], Any]) -> None:
    """Write a failure or refusal entry, within the kind's burst; count it otherwise."""
    context = request_context()
    if context is not None:
        context.handled = True
    window = _window(time.time())
    try:
        number = _take(kind, client, window)
        if number == 1:  # a new window: summarise the closed ones now, not at the next anchor
            audit_flush_suppressed()
    except RedisError:
        logger.warning("audit bound: Redis unavailable, counting in this process", exc_info=True)
        number = _take_locally(kind, window)
    if number:
        write()


def audit_flush_suppressed(now: float | None = None) -> int:
    """Write one summary entry for each closed window in which failures were only
    counted; returns how many were written. Safe to run from several processes: each
    window's tallies are taken (and deleted) atomically by one of them."""
    current = _window(time.time() if now is None else now)
    seconds = settings.AUDIT_FAILURE_WINDOW_SECONDS
    client = kv()
    written = 0
    for member in sorted(text(m) for m in client.smembers(_PENDING)):
        kind, _, window_text = member.rpartition(":")
        if not window_text.isdigit() or int(window_text) >= current:
            continue
        key = f"{_PREFIX}:{kind}:{window_text}:by"
        pipe = client.pipeline(transaction=True)
        pipe.hgetall(key)
        pipe.delete(key)
        pipe.srem(_PENDING, member)
        tallies = {k.decode(): int(v) for k, v in pipe.execute()[0].items()}
        if tallies:
            _write_summary(kind, int(window_text) * seconds, seconds, tallies)
            written += 1
    return written


def _write_summary(kind: str, start: int, seconds: int, tallies: dict[str, int]) -> None:
    ranked = sorted(tallies.items(), key=lambda item: (-item[1], item[0]))
    audit_record(
        actor=None,
        action=f"{kind}.suppressed",
        changes={
            "window_start": datetime.fromtimestamp(start, UTC).isoformat(),
            "window_seconds": seconds,
            "written": settings.AUDIT_FAILURE_BURST,
            "suppressed": sum(tallies.values()),
            "by_client": dict(ranked),
        },
        result=AuditEntry.Result.DENIED if kind == DENIED else AuditEntry.Result.FAILED,
    )


def forget_bounds() -> None:
    """Drop every counter (tests start from a clean slate)."""
    client = kv()
    keys = list(client.scan_iter(f"{_PREFIX}:*", count=500))
    if keys:
        client.delete(*keys)
    with _local_lock:
        _local_counts.clear()


# ---- the middleware -------------------------------------------------------------------


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = enter_request(request)
        try:
            response = self.get_response(request)
            self._after(request, response)
        finally:
            leave_request(token)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, PermissionDenied):
            note_denial_reason(request, str(exception) or "permission denied")

    @staticmethod
    def _after(request: HttpRequest, response: HttpResponse) -> None:
        context = request_context()
        if context is None or context.handled:
            return
        if response.status_code == 403:
            _record_denial(request)
            return
        note = getattr(request, _NOTE, None)
        if (
            note is not None
            and not note.empty
            and 200 <= response.status_code < 400
            and context.entries == 0
            and settings.AUDIT_READS
        ):
            _write_read(request, note)
