"""``cef``: ArcSight Common Event Format (CEF:0 and CEF:1), bare or after a syslog header.

``CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|ext``
Header fields escape ``|`` and ``\\``; extension values escape ``=``, ``\\``, ``\\n``,
``\\r``. Extension keys are kept under their full dictionary names in
``cef.extensions`` (``src`` becomes ``sourceAddress``) and the well-known ones are
copied to ECS, as Elastic's CEF module does.
"""

from __future__ import annotations

import re
from typing import Any

from .base import (
    ParseContext,
    ParsedEvent,
    RawRecord,
    RecordError,
    add_related,
    ip_or_none,
    per_record,
    put,
    transport_name,
)
from .keyvalue import copy_to_ecs, device_time, message_text, put_observer, split_escaped
from .timestamps import TimestampOutOfRange, brief

SHORT_NAMES = {
    "act": "deviceAction",
    "app": "applicationProtocol",
    "c6a1": "deviceCustomIPv6Address1",
    "c6a1Label": "deviceCustomIPv6Address1Label",
    "c6a2": "deviceCustomIPv6Address2",
    "c6a3": "deviceCustomIPv6Address3",
    "c6a4": "deviceCustomIPv6Address4",
    "cat": "deviceEventCategory",
    "cfp1": "deviceCustomFloatingPoint1",
    "cfp2": "deviceCustomFloatingPoint2",
    "cfp3": "deviceCustomFloatingPoint3",
    "cfp4": "deviceCustomFloatingPoint4",
    "cn1": "deviceCustomNumber1",
    "cn1Label": "deviceCustomNumber1Label",
    "cn2": "deviceCustomNumber2",
    "cn2Label": "deviceCustomNumber2Label",
    "cn3": "deviceCustomNumber3",
    "cn3Label": "deviceCustomNumber3Label",
    "cnt": "baseEventCount",
    "cs1": "deviceCustomString1",
    "cs1Label": "deviceCustomString1Label",
    "cs2": "deviceCustomString2",
    "cs2Label": "deviceCustomString2Label",
    "cs3": "deviceCustomString3",
    "cs3Label": "deviceCustomString3Label",
    "cs4": "deviceCustomString4",
    "cs4Label": "deviceCustomString4Label",
    "cs5": "deviceCustomString5",
    "cs5Label": "deviceCustomString5Label",
    "cs6": "deviceCustomString6",
    "cs6Label": "deviceCustomString6Label",
    "destinationDnsDomain": "destinationDnsDomain",
    "dhost": "destinationHostName",
    "dmac": "destinationMacAddress",
    "dntdom": "destinationNtDomain",
    "dpid": "destinationProcessId",
    "dpriv": "destinationUserPrivileges",
    "dproc": "destinationProcessName",
    "dpt": "destinationPort",
    "dst": "destinationAddress",
    "duid": "destinationUserId",
    "duser": "destinationUserName",
    "dvc": "deviceAddress",
    "dvchost": "deviceHostName",
    "dvcmac": "deviceMacAddress",
    "dvcpid": "deviceProcessId",
    "end": "endTime",
    "fname": "fileName",
    "fsize": "fileSize",
    "in": "bytesIn",
    "msg": "message",
    "out": "bytesOut",
    "outcome": "eventOutcome",
    "proto": "transportProtocol",
    "request": "requestUrl",
    "rt": "deviceReceiptTime",
    "shost": "sourceHostName",
    "slat": "sourceGeoLatitude",
    "slong": "sourceGeoLongitude",
    "dlat": "destinationGeoLatitude",
    "dlong": "destinationGeoLongitude",
    "smac": "sourceMacAddress",
    "sntdom": "sourceNtDomain",
    "spid": "sourceProcessId",
    "spriv": "sourceUserPrivileges",
    "sproc": "sourceProcessName",
    "spt": "sourcePort",
    "src": "sourceAddress",
    "start": "startTime",
    "suid": "sourceUserId",
    "suser": "sourceUserName",
    "externalId": "externalId",
}
# Every numbered custom field, with its label: cs1..cs6, cn1..cn3, cfp1..cfp4, c6a1..c6a4.
for _short, _full, _count in (
    ("cs", "deviceCustomString", 6),
    ("cn", "deviceCustomNumber", 3),
    ("cfp", "deviceCustomFloatingPoint", 4),
    ("c6a", "deviceCustomIPv6Address", 4),
):
    for _n in range(1, _count + 1):
        SHORT_NAMES[f"{_short}{_n}"] = f"{_full}{_n}"
        SHORT_NAMES[f"{_short}{_n}Label"] = f"{_full}{_n}Label"
INTEGERS = {
    "destinationPort",
    "sourcePort",
    "bytesIn",
    "bytesOut",
    "fileSize",
    "baseEventCount",
    "eventId",
    "deviceDirection",
    "destinationProcessId",
    "sourceProcessId",
    "deviceProcessId",
    "destinationTranslatedPort",
    "sourceTranslatedPort",
    "deviceCustomNumber1",
    "deviceCustomNumber2",
    "deviceCustomNumber3",
    "type",
}
FLOATS = {
    "sourceGeoLatitude",
    "sourceGeoLongitude",
    "destinationGeoLatitude",
    "destinationGeoLongitude",
}
SEVERITY_WORDS = {"unknown": 0, "low": 2, "medium": 5, "high": 8, "very-high": 10, "veryhigh": 10}
ECS = {
    "sourceAddress": "source.ip",
    "sourcePort": "source.port",
    "destinationAddress": "destination.ip",
    "destinationPort": "destination.port",
    "sourceUserName": "source.user.name",
    "destinationUserName": "destination.user.name",
    "sourceHostName": "source.domain",
    "destinationHostName": "destination.domain",
    "sourceMacAddress": "source.mac",
    "destinationMacAddress": "destination.mac",
    "sourceServiceName": "source.service.name",
    "destinationServiceName": "destination.service.name",
    "sourceTranslatedAddress": "source.nat.ip",
    "sourceTranslatedPort": "source.nat.port",
    "destinationTranslatedAddress": "destination.nat.ip",
    "destinationTranslatedPort": "destination.nat.port",
    "requestUrl": "url.original",
    "requestMethod": "http.request.method",
    "requestContext": "http.request.referrer",
    "requestClientApplication": "user_agent.original",
    "deviceAction": "event.action",
    "eventOutcome": "event.outcome",
    "eventId": "event.id",
    "fileName": "file.name",
    "filePath": "file.path",
    "fileSize": "file.size",
    "deviceHostName": "observer.hostname",
    "deviceExternalId": "observer.name",
    "sourceProcessName": "process.name",
    "sourceProcessId": "process.pid",
    "bytesIn": "source.bytes",
    "bytesOut": "destination.bytes",
    "applicationProtocol": "network.protocol",
}
_KEY = re.compile(r"(?:(?<=\s)|^)([A-Za-z0-9_.\-\[\],:]+)=")
_UNESCAPE = re.compile(r"\\([=\\nr])")
# A number a device would send (a 64-bit counter at most); longer digit runs stay text.
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def _unescape(value: str) -> str:
    return _UNESCAPE.sub(lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), value)


def extensions(text: str) -> dict[str, Any]:
    keys = [m for m in _KEY.finditer(text) if text[m.end() - 2 : m.end() - 1] != "\\"]
    values: dict[str, Any] = {}
    for index, match in enumerate(keys):
        end = keys[index + 1].start() if index + 1 < len(keys) else len(text)
        name = SHORT_NAMES.get(match.group(1), match.group(1))
        value = _unescape(text[match.end() : end].strip())
        if name in INTEGERS and _INTEGER.fullmatch(value):
            values[name] = int(value)
        elif name in FLOATS:
            try:
                values[name] = float(value)
            except ValueError:
                values[name] = value
        else:
            values[name] = value
    return values


def _labelled_ipv6(doc: dict[str, Any], values: dict[str, Any]) -> None:
    """``c6a2=fd00::1 c6a2Label=Source IPv6 Address``: a device's way to send IPv6."""
    for n in range(1, 5):
        label = str(values.get(f"deviceCustomIPv6Address{n}Label", "")).lower()
        address = ip_or_none(str(values.get(f"deviceCustomIPv6Address{n}", "")))
        if not address:
            continue
        for side in ("source", "destination"):
            if label.startswith(side) and not doc.get(side, {}).get("ip"):
                put(doc, f"{side}.ip", address)


def _severity(value: str) -> int | None:
    text = value.strip().lower()
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return SEVERITY_WORDS.get(text)


def _parse(record: RawRecord, context: ParseContext) -> ParsedEvent:
    text = message_text(record, "CEF")
    start = text.find("CEF:")
    if start < 0:
        raise RecordError("not CEF: no 'CEF:' header")
    header = split_escaped(text[start + 4 :], "|", 7)
    if len(header) < 8:
        raise RecordError(f"CEF header has {len(header) - 1} of its 7 '|'-separated fields")
    version, vendor, product, device_version, signature, name, severity, ext = header
    values = extensions(ext)
    doc: dict[str, Any] = {"event": {"kind": "event", "dataset": "cef.log", "code": signature}}
    put(doc, "cef.version", version)
    put(doc, "cef.device.vendor", vendor)
    put(doc, "cef.device.product", product)
    put(doc, "cef.device.version", device_version)
    put(doc, "cef.device.event_class_id", signature)
    put(doc, "cef.name", name)
    put(doc, "cef.severity", severity)
    put(doc, "cef.extensions", values or None)
    put_observer(doc, vendor, product, device_version)
    put(doc, "event.severity", _severity(severity))
    put(doc, "message", values.get("message") or name)
    copy_to_ecs(doc, values, ECS)
    _labelled_ipv6(doc, values)
    put(doc, "network.transport", transport_name(values.get("transportProtocol")))
    user = values.get("sourceUserName") or values.get("destinationUserName")
    put(doc, "user.name", user)
    add_related(doc, "user", values.get("sourceUserName"), values.get("destinationUserName"))
    add_related(doc, "ip", doc.get("source", {}).get("ip"), doc.get("destination", {}).get("ip"))
    direction = values.get("deviceDirection")
    if direction in (0, 1):
        put(doc, "network.direction", "inbound" if direction == 0 else "outbound")
    timestamp, claimed = None, None
    for key in ("deviceReceiptTime", "endTime", "startTime"):
        if key in values:
            try:
                timestamp = device_time(values[key], context.time_zone, context.received_at)
            except TimestampOutOfRange:
                claimed = claimed or brief(values[key])
            if timestamp:
                break
    if timestamp is None and start > 0:
        timestamp = _syslog_time(text[:start], doc, context)
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:80] or signature[:80]
    return ParsedEvent(
        timestamp=timestamp,
        event_type=f"cef_{slug}",
        fields=doc,
        raw=text,
        claimed_time=claimed if timestamp is None else None,
    )


def _syslog_time(prefix: str, doc: dict[str, Any], context: ParseContext) -> Any:
    """CEF sent over syslog: take the time and host of the syslog header in front."""
    from .syslog import parse_line

    try:
        header = parse_line(prefix.strip() + " x", context)
    except ValueError:  # RecordError and out-of-range times alike: no header time
        return None
    host = header.fields.get("host", {}).get("hostname")
    put(doc, "host.hostname", host)
    return header.timestamp


parse = per_record(_parse, "cef")
