"""What each response action acts on, checked before anything is recorded or run."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django.core.exceptions import ValidationError

from ..choices import ResponseActionType

# Account names as directories write them (alice, CORP\alice, alice@corp.example), and
# host names. Neither may start with "-", so a value cannot pose as a command option.
_ACCOUNT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@\\$-]{0,127}$")
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
NOTE_LIMIT = 4000

TARGET_PARAMETER: dict[str, str] = {
    ResponseActionType.BLOCK_IP: "ip",
    ResponseActionType.DISABLE_ACCOUNT: "user",
    ResponseActionType.ISOLATE_HOST: "host",
}


def _clean_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError as exc:
        raise ValidationError({"ip": f"{value!r} is not an IP address or network."}) from exc


def _clean_pattern(name: str, pattern: re.Pattern, value: str) -> str:
    value = value.strip()
    if not pattern.match(value):
        raise ValidationError({name: f"{value!r} is not a valid {name} name."})
    return value


def clean_parameters(action_type: str, parameters: dict[str, Any]) -> dict[str, str]:
    """The action's parameters, normalised; a ValidationError names what is wrong."""
    cleaned: dict[str, str] = {}
    target = TARGET_PARAMETER.get(action_type)
    if target:
        value = str(parameters.get(target) or "")
        if not value.strip():
            raise ValidationError({target: f"This action needs {target!r}."})
        if target == "ip":
            cleaned["ip"] = _clean_ip(value)
        else:
            pattern = _ACCOUNT if target == "user" else _HOST
            cleaned[target] = _clean_pattern(target, pattern, value)
    note = str(parameters.get("note") or "").strip()
    if len(note) > NOTE_LIMIT:
        raise ValidationError({"note": f"At most {NOTE_LIMIT} characters."})
    if note:
        cleaned["note"] = note
    return cleaned


def target_of(action_type: str, parameters: dict[str, Any]) -> str:
    name = TARGET_PARAMETER.get(action_type)
    return str(parameters.get(name, "")) if name else ""
