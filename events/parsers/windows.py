"""``windows``: Windows event log records, Security and Sysmon channels included, from
``.evtx`` files (read by events/readers.py into evtx_dump's shape) and JSON exports:

- evtx_dump / python-evtx: ``{"Event": {"System": {...}, "EventData": {...}}}``
- Winlogbeat: ``{"winlog": {"event_id": ..., "channel": ..., "event_data": {...}}, ...}``
- flat exports (NXLog, OTRF datasets): ``{"EventID": ..., "Channel": ..., "Hostname": ...,
  <event data fields>}``

Whatever the shape, the record's own names are kept at the top level as Sigma's Windows
rules expect them (``EventID``, ``Channel``, ``Provider_Name``, ``Image``, ``CommandLine``,
``TargetUserName``, ...), next to ECS fields (``event.code``, ``winlog.*``, ``process.*``,
``user.*``, ``source.ip``, ...).
"""

from __future__ import annotations

from typing import Any

from .base import (
    ParseContext,
    ParsedEvent,
    RawRecord,
    RecordError,
    add_related,
    int_or_none,
    ip_or_none,
    json_raw,
    per_record,
    port_or_none,
    put,
)
from .jsonlog import as_object, read_time

LOGON_FAILURE = {4625, 4771, 4776}
LOGON_SUCCESS = {4624}
# 4648 is written when a process *tries* a logon with other credentials (runas, a mapped
# drive as another user): whether that logon then succeeds is a 4624 or 4625 of its own.
EXPLICIT_CREDENTIALS = 4648
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is an object, else an empty one: exports vary, senders lie."""
    return value if isinstance(value, dict) else {}


def _attributes(value: Any) -> dict[str, Any]:
    """``{"#attributes": {...}}`` or the attributes themselves."""
    value = _dict(value)
    return _dict(value.get("#attributes", value))


def _text(value: Any) -> Any:
    """evtx_dump wraps values with attributes as {"#text": v, "#attributes": {...}}."""
    if isinstance(value, dict) and "#text" in value:
        return value["#text"]
    return value


def _event_data(data: Any) -> dict[str, Any]:
    """EventData in its several JSON renderings, as a flat name -> value mapping."""
    if not isinstance(data, dict):
        return {}
    if isinstance(data.get("Data"), list):  # [{"#attributes": {"Name": n}, "#text": v}]
        out = {}
        for index, item in enumerate(data["Data"]):
            if isinstance(item, dict):
                name = _dict(item.get("#attributes")).get("Name")
                out[name if isinstance(name, str) and name else f"Data{index}"] = item.get("#text")
            else:
                out[f"Data{index}"] = item
        return out
    fields = {k: _text(v) for k, v in data.items() if k != "#attributes"}
    # Defender and a few others name fields with spaces ("Threat Name"); Sigma's rules use
    # the names without them (ThreatName): keep both.
    for key in [k for k in fields if " " in k]:
        fields.setdefault(key.replace(" ", ""), fields[key])
    return fields


def _user_data(data: Any) -> dict[str, Any]:
    """UserData wraps its fields in one provider-named element
    (``{"Operation_ClientFailure": {"Operation": ...}}``): Sigma names the inner fields."""
    fields = _event_data(data)
    inner = [v for v in fields.values() if isinstance(v, dict)]
    if len(fields) == 1 and len(inner) == 1:
        return _event_data(inner[0])
    return fields


def normalize_shape(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(system fields, event data) under Sigma's names, whatever the export shape."""
    if isinstance(record.get("Event"), dict):
        event = record["Event"]
        system = _dict(event.get("System"))
        provider_attrs = _attributes(system.get("Provider"))
        created_attrs = _attributes(system.get("TimeCreated"))
        execution = _attributes(system.get("Execution"))
        security = _attributes(system.get("Security"))
        data = _event_data(event.get("EventData")) or _user_data(event.get("UserData"))
        sys_fields = {
            "EventID": _text(system.get("EventID")),
            "Channel": system.get("Channel"),
            "Computer": system.get("Computer"),
            "Provider_Name": provider_attrs.get("Name"),
            "EventRecordID": system.get("EventRecordID"),
            "Level": system.get("Level"),
            "Task": system.get("Task"),
            "Keywords": system.get("Keywords"),
            "TimeCreated": created_attrs.get("SystemTime"),
            "ProcessID": execution.get("ProcessID"),
            "ThreadID": execution.get("ThreadID"),
            "UserID": security.get("UserID"),
        }
        return sys_fields, data
    if isinstance(record.get("winlog"), dict):
        winlog = record["winlog"]
        data = winlog.get("event_data") if isinstance(winlog.get("event_data"), dict) else {}
        sys_fields = {
            "EventID": winlog.get("event_id") or _dict(record.get("event")).get("code"),
            "Channel": winlog.get("channel"),
            "Computer": winlog.get("computer_name"),
            "Provider_Name": winlog.get("provider_name"),
            "EventRecordID": winlog.get("record_id"),
            "Task": winlog.get("task"),
            "Keywords": winlog.get("keywords"),
            "TimeCreated": record.get("@timestamp"),
            "ProcessID": _dict(winlog.get("process")).get("pid"),
        }
        return sys_fields, dict(data)
    if "EventID" in record or "EventId" in record:
        data = {k: v for k, v in record.items() if not isinstance(v, dict | list)}
        sys_fields = {
            "EventID": record.get("EventID", record.get("EventId")),
            "Channel": record.get("Channel"),
            "Computer": record.get("Hostname") or record.get("Computer"),
            "Provider_Name": record.get("SourceName")
            or record.get("ProviderName")
            or record.get("Provider_Name"),
            "EventRecordID": record.get("RecordNumber") or record.get("EventRecordID"),
            "TimeCreated": record.get("TimeCreated")
            or record.get("EventTime")
            or record.get("@timestamp"),
        }
        for key in (
            "EventID",
            "EventId",
            "Channel",
            "Hostname",
            "SourceName",
            "RecordNumber",
            "EventTime",
            "TimeCreated",
        ):
            data.pop(key, None)
        return sys_fields, data
    raise RecordError("not a Windows event: no Event/System, winlog or EventID")


def _ecs(doc: dict[str, Any], system: dict[str, Any], data: dict[str, Any], code: int) -> str:
    channel = system.get("Channel") or ""
    put(doc, "event.code", str(code))
    put(doc, "event.provider", system.get("Provider_Name"))
    put(doc, "winlog.channel", channel)
    put(doc, "winlog.event_id", code)
    put(doc, "winlog.computer_name", system.get("Computer"))
    put(doc, "winlog.provider_name", system.get("Provider_Name"))
    put(
        doc,
        "winlog.record_id",
        str(system["EventRecordID"]) if system.get("EventRecordID") is not None else None,
    )
    put(doc, "winlog.event_data", data or None)
    put(doc, "host.name", system.get("Computer"))
    add_related(doc, "hosts", system.get("Computer"))
    put(
        doc,
        "process.executable",
        data.get("Image") or data.get("NewProcessName") or data.get("ProcessName"),
    )
    put(doc, "process.command_line", data.get("CommandLine"))
    put(doc, "process.pid", int_or_none(data.get("ProcessId") or data.get("NewProcessId")))
    put(doc, "process.parent.executable", data.get("ParentImage") or data.get("ParentProcessName"))
    put(doc, "process.parent.command_line", data.get("ParentCommandLine"))
    executable = doc.get("process", {}).get("executable")
    if isinstance(executable, str):
        put(doc, "process.name", executable.replace("/", "\\").rsplit("\\", 1)[-1])
    put(doc, "file.path", data.get("TargetFilename") or data.get("ImageLoaded"))
    put(doc, "registry.path", data.get("TargetObject"))
    put(doc, "dns.question.name", data.get("QueryName"))
    user = data.get("TargetUserName") or data.get("User") or data.get("SubjectUserName")
    if isinstance(user, str) and "\\" in user:
        domain, _, user = user.partition("\\")
        put(doc, "user.domain", domain)
    put(doc, "user.name", user if user not in ("-", "") else None)
    put(doc, "user.domain", data.get("TargetDomainName") or data.get("SubjectDomainName"))
    add_related(doc, "user", user if user not in ("-", "") else None)
    for side, ip_keys, port_keys in (
        (
            "source",
            ("IpAddress", "SourceIp", "SourceAddress", "ClientAddress"),
            ("IpPort", "SourcePort"),
        ),
        ("destination", ("DestinationIp", "DestAddress"), ("DestinationPort", "DestPort")),
    ):
        address = next((ip for k in ip_keys if (ip := ip_or_none(str(data.get(k) or "")))), None)
        put(doc, f"{side}.ip", address)
        add_related(doc, "ip", address)
        put(
            doc,
            f"{side}.port",
            next((p for k in port_keys if (p := port_or_none(data.get(k))) not in (None, 0)), None),
        )
    if channel == SYSMON:
        return _sysmon(doc, code)
    return _security(doc, code, data)


def _security(doc: dict[str, Any], code: int, data: dict[str, Any]) -> str:
    put(doc, "event.dataset", "windows.security")
    if code in LOGON_FAILURE | LOGON_SUCCESS:
        put(doc, "event.category", ["authentication"])
        put(doc, "event.outcome", "failure" if code in LOGON_FAILURE else "success")
        put(doc, "event.action", "logon-failed" if code in LOGON_FAILURE else "logged-in")
        put(doc, "winlog.logon.type", str(data["LogonType"]) if data.get("LogonType") else None)
    elif code == EXPLICIT_CREDENTIALS:
        put(doc, "event.category", ["authentication"])
        put(doc, "event.action", "logged-in-explicit")  # Winlogbeat's name, no outcome
    elif code == 4688:
        put(doc, "event.category", ["process"])
        put(doc, "event.type", ["start"])
        put(doc, "event.action", "created-process")
    elif code in (4720, 4722, 4724, 4726, 4728, 4732, 4756):
        put(doc, "event.category", ["iam"])
    elif code in (5156, 5157):
        put(doc, "event.category", ["network"])
        put(doc, "event.outcome", "success" if code == 5156 else "failure")
    elif code == 7045 or code == 4697:
        put(doc, "event.category", ["configuration"])
        put(doc, "event.action", "service-installed")
    return f"windows_{code}"


SYSMON_KINDS = {
    1: ("process", "process_creation"),
    3: ("network", "network_connection"),
    5: ("process", "process_terminated"),
    7: ("process", "image_load"),
    8: ("process", "create_remote_thread"),
    10: ("process", "process_access"),
    11: ("file", "file_create"),
    12: ("registry", "registry_event"),
    13: ("registry", "registry_set"),
    15: ("file", "file_stream"),
    17: ("process", "pipe_created"),
    22: ("network", "dns_query"),
    23: ("file", "file_delete"),
    25: ("process", "process_tampering"),
}


def _sysmon(doc: dict[str, Any], code: int) -> str:
    put(doc, "event.dataset", "windows.sysmon")
    category, action = SYSMON_KINDS.get(code, ("host", f"sysmon_{code}"))
    put(doc, "event.category", [category])
    put(doc, "event.action", action)
    return f"sysmon_{code}"


def event_of(record: dict[str, Any], raw: str, context: ParseContext) -> ParsedEvent:
    system, data = normalize_shape(record)
    code = int_or_none(system.get("EventID"))
    if code is None:
        raise RecordError(f"a Windows event without a numeric EventID ({system.get('EventID')!r})")
    doc: dict[str, Any] = {"event": {"kind": "event"}}
    event_type = _ecs(doc, system, data, code)
    # Sigma's names at the top level: System fields and EventData fields side by side.
    for key, value in {**{k: v for k, v in system.items() if v is not None}, **data}.items():
        if key not in doc and value is not None:
            doc[key] = value
    doc["EventID"] = code
    timestamp, claimed = read_time(system.get("TimeCreated"), context)
    dedupe = None
    if system.get("EventRecordID") is not None:
        dedupe = f"win:{system.get('Computer')}:{system.get('Channel')}:{system['EventRecordID']}"
    return ParsedEvent(
        timestamp=timestamp,
        event_type=event_type,
        fields=doc,
        raw=raw,
        dedupe_key=dedupe,
        claimed_time=claimed,
    )


def _parse(record: RawRecord, context: ParseContext) -> ParsedEvent:
    value = as_object(record)
    raw = record.data if isinstance(record.data, str) else json_raw(value)
    return event_of(value, raw, context)


parse = per_record(_parse, "windows")
