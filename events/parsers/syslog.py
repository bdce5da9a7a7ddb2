"""``syslog``: RFC 5424 and RFC 3164 (BSD) messages, told apart by the version digit after
the PRI, plus what syslog files hold: no PRI, ISO 8601 stamps, continuation lines, and raw
auditd records. The message of the programs SOC teams read most is parsed into ECS fields
(syslog_programs.py, netfilter.py, auditd.py, snort_alert.py).

Header fields land where Elastic puts them: ``log.syslog.*``, ``host.hostname``,
``process.name``/``process.pid``, ``message``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from . import auditd, netfilter, snort_alert, syslog_programs
from .base import (
    ParseContext,
    ParsedEvent,
    ParseResult,
    RawRecord,
    RecordError,
    Rejected,
    failure_reason,
    int_or_none,
    put,
    tidy,
)
from .timestamps import parse_bsd, parse_iso

MAX_LINE = 64 * 1024

_PRI = re.compile(r"<(\d{1,3})>")
_RFC5424 = re.compile(
    r"(?P<version>[1-9]\d{0,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) "
    r"(?P<msgid>\S+) ?(?P<rest>.*)",
    re.DOTALL,
)
_BSD_TS = re.compile(r"[A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?")
_ISO_TS = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"
)
# Some devices (Ubiquiti, some Cisco) write "facility.severity" between host and tag.
_FACILITY_LEVEL = re.compile(r"(?P<facility>[a-z0-9]+)\.(?P<level>[a-z]+) ")
_TAG = re.compile(r"(?P<app>[^\s\[\]:]{1,128})(?:\[(?P<pid>[^\]\s]{1,32})\])?:(?: |$)")
_SD_ELEMENT = re.compile(r'\[([^\s=\]"]+)((?:\s+[^\s=\]"]+="(?:[^"\\]|\\.)*")*)\s*\]')
_SD_PARAM = re.compile(r'([^\s=\]"]+)="((?:[^"\\]|\\.)*)"')
_SD_UNESCAPE = re.compile(r"\\([\"\\\]])")

_LEVEL_NAMES = {
    "emerg",
    "alert",
    "crit",
    "err",
    "error",
    "warn",
    "warning",
    "notice",
    "info",
    "debug",
}
FACILITIES = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
]
SEVERITIES = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
]


def parse(records: Iterable[RawRecord], context: ParseContext) -> Iterator[ParseResult]:
    """Lines in, events out. A line starting with whitespace continues the previous one
    (multi-line messages in syslog files)."""
    pending: tuple[int, str] | None = None
    for record in records:
        if not isinstance(record.data, str):
            yield Rejected(record.number, str(record.data), "syslog expects text lines")
            continue
        line = record.data.rstrip("\r\n")
        if not line.strip():
            continue
        if pending is not None and line[:1] in (" ", "\t") and not _PRI.match(line):
            pending = (pending[0], pending[1] + "\n" + line)
            continue
        if pending is not None:
            yield _one(*pending, context)
        pending = (record.number, line)
    if pending is not None:
        yield _one(*pending, context)


def _one(number: int, line: str, context: ParseContext) -> ParseResult:
    if len(line) > MAX_LINE:
        return Rejected(number, line, f"line longer than {MAX_LINE} characters")
    try:
        event = parse_line(line, context)
    except Exception as exc:  # one record's failure, whatever it is, is that record's
        return Rejected(number, line, failure_reason(exc, "syslog"))
    event.number = number
    return event


def parse_line(line: str, context: ParseContext) -> ParsedEvent:
    if line.startswith("type=") and "msg=audit(" in line:
        return auditd.parse_record(line, context)
    doc: dict[str, Any] = {"event": {"kind": "event", "dataset": "syslog"}}
    rest = line.lstrip("\ufeff")
    pri_match = _PRI.match(rest)
    if pri_match:
        _put_priority(doc, int(pri_match.group(1)))
        rest = rest[pri_match.end() :]
    header = _RFC5424.match(rest) if pri_match else None
    if header and _looks_like_rfc5424_time(header["ts"]):
        timestamp, message = _rfc5424(header, doc, context)
    else:
        timestamp, message = _rfc3164(rest, doc, context)
        if timestamp is None and not pri_match:
            raise RecordError("not a syslog message: no <PRI> and no timestamp")
    return _finish(doc, timestamp, message, line, context)


def _put_priority(doc: dict[str, Any], priority: int) -> None:
    if priority > 191:
        raise RecordError(f"PRI {priority} is out of range (0-191)")
    facility, severity = divmod(priority, 8)
    doc.setdefault("log", {})["syslog"] = {
        "priority": priority,
        "facility": {"code": facility, "name": FACILITIES[facility]},
        "severity": {"code": severity, "name": SEVERITIES[severity]},
    }


def _syslog(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``log.syslog`` object of ``doc`` (made when missing)."""
    log = doc.get("log")
    if log is None:
        log = doc["log"] = {}
    syslog = log.get("syslog")
    if syslog is None:
        syslog = log["syslog"] = {}
    return syslog


def _looks_like_rfc5424_time(value: str) -> bool:
    return value == "-" or bool(_ISO_TS.fullmatch(value))


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def _rfc5424(
    header: re.Match[str], doc: dict[str, Any], context: ParseContext
) -> tuple[datetime | None, str]:
    put(doc, "log.syslog.version", header["version"])
    timestamp = None
    if header["ts"] != "-":
        try:
            timestamp = parse_iso(header["ts"], context.time_zone)
        except ValueError as exc:
            raise RecordError(f"bad RFC 5424 timestamp {header['ts']!r}") from exc
    put(doc, "log.syslog.hostname", _nil(header["host"]))
    put(doc, "log.syslog.appname", _nil(header["app"]))
    put(doc, "log.syslog.procid", _nil(header["procid"]))
    put(doc, "log.syslog.msgid", _nil(header["msgid"]))
    put(doc, "host.hostname", _nil(header["host"]))
    put(doc, "process.name", _nil(header["app"]))
    put(doc, "process.pid", int_or_none(_nil(header["procid"])))
    rest = header["rest"]
    if rest.startswith("-"):
        message = rest[2:] if rest.startswith("- ") else rest[1:]
    elif rest.startswith("["):
        try:
            structured, message = _structured_data(rest)
            put(doc, "log.syslog.structured_data", structured)
        except RecordError as exc:
            # Some devices (Check Point, for one) write their own bracketed syntax here. The
            # message is still worth keeping whole and searchable; say why it is unparsed.
            message = rest
            put(doc, "tags", ["syslog_structured_data_unparsed"])
            put(doc, "error.message", str(exc))
    else:
        message = rest  # a missing SD field: keep the rest as the message
    return timestamp, message.lstrip("\ufeff")


def _structured_data(text: str) -> tuple[dict[str, dict[str, str]], str]:
    elements: dict[str, dict[str, str]] = {}
    position = 0
    while position < len(text) and text[position] == "[":
        match = _SD_ELEMENT.match(text, position)
        if not match:
            raise RecordError(f"malformed STRUCTURED-DATA at column {position + 1}")
        params = {k: _SD_UNESCAPE.sub(r"\1", v) for k, v in _SD_PARAM.findall(match.group(2))}
        elements[match.group(1)] = params
        position = match.end()
    return elements, text[position:].removeprefix(" ")


def _rfc3164(text: str, doc: dict[str, Any], context: ParseContext) -> tuple[datetime | None, str]:
    timestamp = None
    bsd = _BSD_TS.match(text)
    iso = None if bsd else _ISO_TS.match(text)
    try:
        if bsd:
            timestamp = parse_bsd(bsd.group(0), context.time_zone, context.received_at)
            text = text[bsd.end() :].lstrip(" ")
        elif iso:
            timestamp = parse_iso(
                iso.group(0).replace(" ", "T", 1).replace(",", "."), context.time_zone
            )
            text = text[iso.end() :].lstrip(" ")
    except ValueError as exc:
        raise RecordError(f"bad timestamp: {exc}") from exc
    # HOSTNAME is optional in practice: if the first word is already a TAG, there is none.
    tag = _TAG.match(text)
    if timestamp is not None and tag is None:
        first, _, after = text.partition(" ")
        if first and not first.endswith(":"):
            doc["host"] = {"hostname": first}
            _syslog(doc)["hostname"] = first
            text = after
            tag = _TAG.match(text)
    if tag is None:
        level = _FACILITY_LEVEL.match(text)
        if level and level["level"] in _LEVEL_NAMES:
            syslog = _syslog(doc)
            syslog.setdefault("facility", {})["name"] = level["facility"]
            syslog.setdefault("severity", {})["name"] = level["level"]
            text = text[level.end() :]
            tag = _TAG.match(text)
    if tag:
        app = tag["app"]
        process: dict[str, Any] = {"name": app}
        syslog = _syslog(doc)
        syslog["appname"] = app
        pid = tag["pid"]
        if pid:
            number = int_or_none(pid)
            if number is not None:
                process["pid"] = number
            syslog["procid"] = pid
        doc["process"] = process
        text = text[tag.end() :]
    return timestamp, text


PROGRAM_PARSERS = {
    "sshd": syslog_programs.sshd,
    "sudo": syslog_programs.sudo,
    "su": syslog_programs.su,
    "groupadd": syslog_programs.user_management,
    "useradd": syslog_programs.user_management,
    "userdel": syslog_programs.user_management,
    "usermod": syslog_programs.user_management,
    "passwd": syslog_programs.user_management,
    "kernel": netfilter.kernel,
    "firewalld": netfilter.kernel,
    "audispd": auditd.from_syslog,
    "audisp-syslog": auditd.from_syslog,
    "audit": auditd.from_syslog,
    "snort": snort_alert.from_syslog,
    "snort3": snort_alert.from_syslog,
}


def _finish(
    doc: dict[str, Any], timestamp: Any, message: str, line: str, context: ParseContext
) -> ParsedEvent:
    message = message.strip()
    if message:
        doc["message"] = message
    host = doc.get("host")
    if host and host.get("hostname"):
        doc["related"] = {"hosts": [host["hostname"]]}
    process = doc.get("process")
    program = process["name"].lower() if process else ""
    event_type = "syslog"
    handler = PROGRAM_PARSERS.get(program)
    if handler is None and "pam_" in message:
        handler = syslog_programs.pam
    if handler is not None:
        event_type = handler(message, doc) or event_type
    return ParsedEvent(timestamp=timestamp, event_type=event_type, fields=tidy(doc), raw=line)


def syslog_hostname(line: str) -> str | None:
    """The HOSTNAME of a syslog line, for mapping a sender to its source cheaply."""
    rest = line.lstrip("\ufeff")
    pri = _PRI.match(rest)
    if pri:
        rest = rest[pri.end() :]
        header = _RFC5424.match(rest)
        if header and _looks_like_rfc5424_time(header["ts"]):
            return _nil(header["host"])
    stamp = _ISO_TS.match(rest) or _BSD_TS.match(rest)
    if not stamp:
        return None
    first = rest[stamp.end() :].lstrip(" ").partition(" ")[0]
    if not first or first.endswith(":") or "[" in first:
        return None
    return first
