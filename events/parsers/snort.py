"""``snort``: Snort alerts, one a line, in the forms Snort writes them:

- Snort 3 ``alert_json``: one object a line (``timestamp``, ``pkt_num``, ``proto``,
  ``src_addr``/``src_port`` or ``src_ap``, ``rule`` as ``gid:sid:rev``, ``priority``,
  ``class``, ``action``, ``msg``, ``b64_data``, ...);
- ``alert_fast`` (Snort 2 and 3): ``08/28-12:34:56.789012 [**] [1:2019401:3] MSG [**]
  [Classification: X] [Priority: 1] {TCP} 1.2.3.4:80 -> 5.6.7.8:1234``;
- ``alert_syslog`` lines as a syslog file or relay holds them (``<PRI>``, a syslog
  header, ``snort[123]: [1:2019401:3] MSG [Classification: X] [Priority: 1] {TCP} ...``).
  On a ``syslog`` source the same lines are read by the syslog parser's ``snort``
  program parser, to the same fields.

The ECS fields of an alert are in ``snort_alert.py``; the JSON keys are also kept as
Snort names them (``rule`` under ``snort.rule``, next to ECS ``rule``).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from . import syslog
from .base import (
    ParseContext,
    ParsedEvent,
    RawRecord,
    RecordError,
    int_or_none,
    json_raw,
    keep_originals,
    per_record,
    put,
    transport_name,
)
from .jsonlog import as_object
from .snort_alert import DATASET, EVENT_TYPE, put_alert, put_side, read_line_body, rule_parts
from .timestamps import brief, from_epoch, resolve_year

# Snort's own time: MM/DD-hh:mm:ss.ffffff, with -y (output.show_year) YY/MM/DD-... first.
_TIME = re.compile(
    r"(?:(?P<year>\d{2})/)?(?P<month>\d{2})/(?P<day>\d{2})-(?P<h>\d{2}):(?P<m>\d{2}):"
    r"(?P<s>\d{2})(?:\.(?P<frac>\d{1,6}))?"
)
_LINE_TIME = re.compile(_TIME.pattern + r"\s+")
NOT_SNORT = "not a Snort alert: no alert_json object, alert_fast line or snort syslog line"
MAX_PRIORITY = 255  # Snort's own range is 1-4; a rule may set any small number


def parse_time(text: str, zone: tzinfo, received_at: datetime) -> datetime:
    """Snort writes the sensor's local time (UTC with ``-U``): the source's time zone
    applies; without a year, the year rule of syslog (docs/INGESTION.md, Timestamps)."""
    text = text.strip()
    match = _TIME.fullmatch(text)
    if not match:
        raise RecordError(f"not a Snort timestamp: {brief(text)!r}")
    month, day, hour, minute, second = (int(match[k]) for k in ("month", "day", "h", "m", "s"))
    micro = int((match["frac"] or "0").ljust(6, "0"))
    try:
        if match["year"] is not None:
            year = 2000 + int(match["year"])
            return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
        return resolve_year(month, day, hour, minute, second, micro, zone, received_at)
    except ValueError as exc:  # 02/30, 25:00:00
        raise RecordError(f"not a real date: {brief(text)!r}") from exc


def _parse(record: RawRecord, context: ParseContext) -> ParsedEvent:
    if isinstance(record.data, dict) or record.data.lstrip()[:1] == "{":
        return _json_alert(as_object(record), context)
    line = record.data.rstrip("\r\n").lstrip("\ufeff")
    if len(line) > syslog.MAX_LINE:
        raise RecordError(f"line longer than {syslog.MAX_LINE} characters")
    stamp = _LINE_TIME.match(line)
    if stamp or line.lstrip().startswith("["):
        return _fast_alert(line, stamp, context)
    try:
        event = syslog.parse_line(line, context)
    except RecordError as exc:
        raise RecordError(f"{NOT_SNORT} ({exc})") from exc
    if event.event_type != EVENT_TYPE:
        raise RecordError(NOT_SNORT)
    return event


def _fast_alert(line: str, stamp: re.Match[str] | None, context: ParseContext) -> ParsedEvent:
    doc: dict[str, Any] = {}
    if not read_line_body(line[stamp.end() :] if stamp else line, doc):
        raise RecordError("not a Snort alert_fast line: no [gid:sid:rev] after the time")
    when = parse_time(stamp.group(0), context.time_zone, context.received_at) if stamp else None
    return ParsedEvent(timestamp=when, event_type=EVENT_TYPE, fields=doc, raw=line)


def _json_alert(alert: dict[str, Any], context: ParseContext) -> ParsedEvent:
    rule = _json_rule(alert)
    doc: dict[str, Any] = {}
    priority = int_or_none(alert.get("priority"))
    put_alert(
        doc,
        rule,
        _text(alert.get("msg")),
        priority if priority is not None and 0 <= priority <= MAX_PRIORITY else None,
        _text(alert.get("class")),
        _text(alert.get("action")),
    )
    _json_network(doc, alert)
    keep_originals(doc, alert, "snort")
    return ParsedEvent(
        timestamp=_json_time(alert, context),
        event_type=EVENT_TYPE,
        fields=doc,
        raw=json_raw(alert),
        dedupe_key=_dedupe_key(alert, rule),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _json_rule(alert: dict[str, Any]) -> tuple[int, int, int]:
    if isinstance(alert.get("rule"), str):
        return rule_parts(alert["rule"])
    numbers = [int_or_none(alert.get(k)) for k in ("gid", "sid", "rev")]
    if numbers[1] is None:
        raise RecordError("not a Snort alert_json record: no 'rule' (gid:sid:rev) and no 'sid'")
    gid, sid, rev = (n if n is not None and 0 <= n < 2**32 else 0 for n in numbers)
    return gid or 1, sid, rev


def _json_network(doc: dict[str, Any], alert: dict[str, Any]) -> None:
    transport = transport_name(alert.get("proto")) if isinstance(alert.get("proto"), str) else None
    put(doc, "network.transport", transport)
    for side, prefix in (("source", "src"), ("destination", "dst")):
        address, port = alert.get(f"{prefix}_addr"), alert.get(f"{prefix}_port")
        joined = alert.get(f"{prefix}_ap")  # "10.1.2.3:48620", the default output's form
        if address is None and isinstance(joined, str) and ":" in joined:
            address, _, port = joined.rpartition(":")
        put_side(doc, side, address, port)
        put(doc, f"{side}.mac", _text(alert.get(f"eth_{prefix}")))
    service = _text(alert.get("service"))
    put(doc, "network.protocol", service.lower() if service and service != "unknown" else None)
    vlan = int_or_none(alert.get("vlan"))
    put(doc, "network.vlan.id", str(vlan) if vlan is not None and 0 < vlan < 4096 else None)
    put(doc, "observer.ingress.interface.name", _text(alert.get("iface")))


def _json_time(alert: dict[str, Any], context: ParseContext) -> datetime | None:
    """``seconds`` (epoch, when the output lists it) else ``timestamp``; neither: the time
    it was received."""
    seconds = alert.get("seconds")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        try:
            return from_epoch(seconds)
        except ValueError as exc:
            raise RecordError(f"bad Snort 'seconds' {brief(seconds)!r}") from exc
    stamp = alert.get("timestamp")
    if stamp is None:
        return None
    if not isinstance(stamp, str):
        raise RecordError(f"bad Snort timestamp {brief(stamp)!r}")
    return parse_time(stamp, context.time_zone, context.received_at)


def _dedupe_key(alert: dict[str, Any], rule: tuple[int, int, int]) -> str | None:
    """The packet's number in the sensor's run, its time and the rule: the same alert
    sent again (a retried shipper) is one event; two packets never share it."""
    number = int_or_none(alert.get("pkt_num"))
    stamp = alert.get("seconds") or alert.get("timestamp")
    if number is None or not 0 <= number < 2**64 or not isinstance(stamp, str | int | float):
        return None
    return f"snort:{brief(stamp)}:{number}:{rule[0]}:{rule[1]}:{rule[2]}"


parse = per_record(_parse, "snort")

__all__ = ["DATASET", "EVENT_TYPE", "parse", "parse_time"]
