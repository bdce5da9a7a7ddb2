"""What an alert is about, as ``kind:value`` strings ("ip:10.0.0.5", "user:root",
"host:web1"): the alert queue's entity filter, related alerts, mutes and incident
grouping all match on these, through one GIN-indexed array column.

The engine's details name fields the way the rule did (ECS names, Windows event data
names, or whatever a custom parser produced); this maps the common ones to three kinds.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

KINDS = ("ip", "user", "host")

FIELD_KINDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "source.ip",
            "destination.ip",
            "client.ip",
            "server.ip",
            "host.ip",
            "IpAddress",
            "SourceIp",
            "DestinationIp",
            "SourceAddress",
            "DestAddress",
            "src_ip",
            "dest_ip",
            "c-ip",
        ),
        "ip",
    ),
    **dict.fromkeys(
        (
            "user.name",
            "source.user.name",
            "destination.user.name",
            "TargetUserName",
            "SubjectUserName",
            "User",
            "user",
            "AccountName",
        ),
        "user",
    ),
    **dict.fromkeys(
        ("host.name", "host.hostname", "Computer", "ComputerName", "hostname", "Workstation"),
        "host",
    ),
}

# Values that name nobody in particular: grouping on them would glue unrelated alerts.
MEANINGLESS = {"", "-", "?", "unknown", "none", "null", "n/a", "system", "local service"}


def entity(kind: str, value: Any) -> str | None:
    """``kind:value`` in the canonical form, or None for a value that names no one."""
    text = str(value).strip()
    if text.lower() in MEANINGLESS:
        return None
    if kind == "ip":
        try:
            text = str(ipaddress.ip_address(text))
        except ValueError:
            return None
    else:
        text = text.lower()  # user and host names are case-insensitive where they matter
    return f"{kind}:{text}"[:300]


def _values(value: Any) -> Iterable[Any]:
    if isinstance(value, list | tuple | set):
        return value
    return (value,)


def entities_of(fields: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for name, value in fields.items():
        kind = FIELD_KINDS.get(name)
        if kind is None or value is None:
            continue
        for item in _values(value):
            made = entity(kind, item)
            if made and made not in found:
                found.append(made)
    return found


def alert_entities(details: Mapping[str, Any]) -> list[str]:
    """The entities of an alert from the engine's details (a detection's ``entities``,
    a correlation's ``group_by``)."""
    fields: dict[str, Any] = {}
    for part in ("entities", "group_by"):
        value = details.get(part)
        if isinstance(value, Mapping):
            fields.update(value)
    return entities_of(fields)


def entity_candidates(text: str) -> list[str]:
    """What a user typed in an entity filter: "user:root" means that user; a bare
    "10.0.0.5" an address; a bare "web1" a host or a user of that name."""
    text = text.strip()
    kind, sep, value = text.partition(":")
    if sep and kind in KINDS:
        made = entity(kind, value)
        return [made] if made else []
    as_ip = entity("ip", text)
    if as_ip:
        return [as_ip]
    return [e for e in (entity("host", text), entity("user", text)) if e]


def split_entity(value: str) -> tuple[str, str]:
    kind, _, rest = value.partition(":")
    return kind, rest
