"""Linux audit records: raw audit.log lines and the ones audisp forwards over syslog.

``type=USER_LOGIN msg=audit(1489519256.192:19600329): pid=1 uid=0 ... msg='op=login
acct="root" exe="/usr/sbin/sshd" addr=1.2.3.4 terminal=ssh res=failed'``. The record
type becomes ``event.action``; the key/value pairs go to ``auditd.log`` (hex-encoded
values decoded), and the ones ECS knows are copied there.
"""

from __future__ import annotations

import re
from typing import Any

from .base import (
    ParseContext,
    ParsedEvent,
    RecordError,
    add_related,
    int_or_none,
    ip_or_none,
    put,
    tidy,
)
from .timestamps import brief, from_epoch

_HEADER = re.compile(
    r"type=(?P<type>\S+) msg=audit\((?P<ts>\d+\.\d+):(?P<seq>\d+)\):\s*(?P<body>.*)$"
)
_KV = re.compile(r"""(\w[\w-]*)=("(?:[^"]*)"|'(?:[^']*)'|\S*)""")
_HEX = re.compile(r"^(?:[0-9A-F]{2})+$")
HEX_FIELDS = {"cmd", "comm", "exe", "cwd", "name", "proctitle", "path", "data", "acct"}
HEX_ARG = re.compile(r"^a\d+$")
USER_LOGIN_TYPES = {"USER_LOGIN", "USER_AUTH", "USER_ERR", "USER_START", "USER_END"}


def _value(key: str, raw: str) -> str:
    if raw[:1] in ('"', "'"):
        return raw[1:-1]
    if (key in HEX_FIELDS or HEX_ARG.match(key)) and _HEX.match(raw) and len(raw) >= 4:
        try:
            return bytes.fromhex(raw).decode("utf-8", errors="replace").replace("\x00", " ")
        except ValueError:
            return raw
    return raw


def fields_of(body: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, raw in _KV.findall(body):
        if key == "msg" and raw[:1] == "'":
            fields.update(fields_of(raw[1:-1]))  # the user-space message nested inside
        else:
            fields[key] = _value(key, raw)
    return fields


def parse_record(line: str, context: ParseContext) -> ParsedEvent:
    match = _HEADER.match(line.strip())
    if not match:
        raise RecordError("not an audit record: expected 'type=... msg=audit(time:serial):'")
    doc: dict[str, Any] = {"event": {"kind": "event", "dataset": "auditd.log"}}
    record_type = match["type"]
    fields = fields_of(match["body"])
    _to_ecs(doc, record_type, fields)
    put(doc, "auditd.log.sequence", int_or_none(match["seq"]))
    put(doc, "message", match["body"])
    tidy(doc)
    try:
        timestamp = from_epoch(match["ts"])
    except ValueError as exc:
        raise RecordError(f"audit record time {brief(match['ts'])} is out of range") from exc
    return ParsedEvent(
        timestamp=timestamp,
        event_type=f"auditd_{record_type.lower()}",
        fields=doc,
        raw=line,
    )


def _to_ecs(doc: dict[str, Any], record_type: str, fields: dict[str, str]) -> None:
    put(doc, "event.action", record_type.lower())
    put(doc, "auditd.log", {k: v for k, v in fields.items() if v not in ("", "?")} or None)
    put(doc, "process.pid", int_or_none(fields.get("pid")))
    put(doc, "process.parent.pid", int_or_none(fields.get("ppid")))
    put(doc, "process.executable", fields.get("exe"))
    put(doc, "process.name", fields.get("comm"))
    put(doc, "user.id", fields.get("uid"))
    auid = fields.get("auid")
    if auid:
        put(doc, "user.audit.id", auid)
    account = fields.get("acct")
    if account:
        put(doc, "user.name", account)
        add_related(doc, "user", account)
    address = ip_or_none(fields.get("addr")) or ip_or_none(fields.get("src"))
    put(doc, "source.ip", address)
    add_related(doc, "ip", address)
    destination = ip_or_none(fields.get("dst")) or ip_or_none(fields.get("laddr"))
    put(doc, "destination.ip", destination)
    add_related(doc, "ip", destination)
    result = fields.get("res") or fields.get("success")
    if result:
        outcome = {
            "success": "success",
            "yes": "success",
            "1": "success",
            "failed": "failure",
            "no": "failure",
            "0": "failure",
        }.get(result, result)
        put(doc, "event.outcome", outcome)
    if record_type == "EXECVE":
        # argc is the sender's word: never count further than the arguments present.
        count = min(int_or_none(fields.get("argc")) or 0, len(fields))
        args = [fields[f"a{i}"] for i in range(count) if f"a{i}" in fields]
        put(doc, "process.args", args or None)
        put(doc, "process.args_count", len(args) or None)
        put(doc, "process.executable", args[0] if args else None)
    if record_type in USER_LOGIN_TYPES:
        put(doc, "event.category", ["authentication"])
    elif record_type in ("SYSCALL", "EXECVE"):
        put(doc, "event.category", ["process"])
    elif record_type.startswith(("ADD_", "DEL_")):
        put(doc, "event.category", ["iam"])


def from_syslog(message: str, doc: dict[str, Any]) -> str | None:
    """An audit record inside a syslog message (audisp-syslog, audispd)."""
    start = message.find("type=")
    if start < 0:
        return None
    match = _HEADER.match(message[start:].strip())
    if not match:
        return None
    fields = fields_of(match["body"])
    put(doc, "event.dataset", "auditd.log")
    _to_ecs(doc, match["type"], fields)
    put(doc, "auditd.log.sequence", int_or_none(match["seq"]))
    return f"auditd_{match['type'].lower()}"
