"""Small hand-written STIX 2.1 objects for the importer tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

import stix2

T = "2026-01-02T03:04:05.000Z"


def sid(kind: str) -> str:
    return f"{kind}--{uuid.uuid4()}"


def indicator(pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": extra.pop("id", None) or sid("indicator"),
        "created": T,
        "modified": extra.pop("modified", T),
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": T,
        **extra,
    }


def sdo(kind: str, name: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": kind,
        "spec_version": "2.1",
        "id": sid(kind),
        "created": T,
        "modified": T,
    }
    if kind != "identity" or name:
        base["name"] = name
    if kind == "malware":
        base["is_family"] = True
    return {**base, **extra}


def relationship(source: str, target: str, kind: str = "indicates") -> dict[str, Any]:
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": sid("relationship"),
        "created": T,
        "modified": T,
        "relationship_type": kind,
        "source_ref": source,
        "target_ref": target,
    }


def sco(kind: str, **properties: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1", "id": sid(kind), **properties}


def bundle(*objects: dict[str, Any]) -> bytes:
    return json.dumps({"type": "bundle", "id": sid("bundle"), "objects": list(objects)}).encode()


TLP_GREEN = stix2.TLP_GREEN.id
TLP_RED = stix2.TLP_RED.id
