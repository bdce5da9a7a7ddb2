"""MISP events (JSON as MISP exports them) into indicators.

An event is ``{"Event": {...}}`` (a list of them, or ``{"response": [...]}`` as the REST
API answers); its ``Attribute`` list and the attributes of each ``Object`` become IOCs:

- only attributes flagged ``to_ids`` (MISP's "use this for detection"); the others are
  context and are skipped with that reason, as are deleted ones;
- types map by ``MISP_TYPES`` (``ip-dst|port`` gives the address, ``filename|sha256``
  gives both the name and the hash); types socapp does not match are skipped;
- ``tlp:*`` tags (of the attribute, else the event) give the TLP;
  ``misp-galaxy:mitre-attack-pattern`` tags give ATT&CK ids; threat-actor and malware
  galaxy tags give context; other tags are kept as tags;
- object references that loop refuse the event, naming the objects.
"""

from __future__ import annotations

import re
from typing import Any

from ..choices import Tlp
from .base import (
    Collector,
    ImportRefused,
    as_dict,
    as_list,
    load_json,
    refuse_cycles,
    text_of,
    timestamp,
)

_IP = "ipv4"  # reads IPv6 and CIDRs too
_HASHES = {"md5": "md5", "sha1": "sha1", "sha256": "sha256"}
# MISP attribute type -> (IOC type, which part of a "a|b" value) for each IOC it gives.
MISP_TYPES: dict[str, tuple[tuple[str, int], ...]] = {
    "ip-src": ((_IP, 0),),
    "ip-dst": ((_IP, 0),),
    "ip-src|port": ((_IP, 0),),
    "ip-dst|port": ((_IP, 0),),
    "domain": (("domain", 0),),
    "hostname": (("domain", 0),),
    "hostname|port": (("domain", 0),),
    "domain|ip": (("domain", 0), (_IP, 1)),
    "url": (("url", 0),),
    "email": (("email", 0),),
    "email-src": (("email", 0),),
    "email-dst": (("email", 0),),
    "email-reply-to": (("email", 0),),
    "filename": (("filename", 0),),
    "user-agent": (("user_agent", 0),),
    "ja3-fingerprint-md5": (("ja3", 0),),
    "ja4-fingerprint": (("ja4", 0),),
    **{name: ((kind, 0),) for name, kind in _HASHES.items()},
    **{f"filename|{name}": (("filename", 0), (kind, 1)) for name, kind in _HASHES.items()},
    **{f"x509-fingerprint-{name}": ((kind, 0),) for name, kind in _HASHES.items()},
}
TLP_TAGS = {"tlp:white": Tlp.CLEAR, **{f"tlp:{level.value}": level.value for level in Tlp}}
TECHNIQUE = re.compile(r"\bT\d{4}(?:\.\d{3})?\b")
GALAXY_CONTEXT = {
    "misp-galaxy:threat-actor": "threat_actor",
    "misp-galaxy:mitre-intrusion-set": "intrusion_set",
    "misp-galaxy:mitre-malware": "malware",
    "misp-galaxy:malpedia": "malware",
    "misp-galaxy:ransomware": "malware",
    "misp-galaxy:mitre-tool": "tool",
}
_GALAXY = re.compile(r'^(misp-galaxy:[a-z0-9-]+)="(.*)"$')


def parse_events(data: bytes, collector: Collector, name: str = "the MISP file") -> None:
    document = load_json(data, collector.limits, name)
    for index, event in enumerate(_events(document, name)):
        read_event(event, collector, f"{name}: event #{index + 1}")


def _events(document: Any, name: str) -> list[dict[str, Any]]:
    if isinstance(document, dict) and "response" in document:
        document = document["response"]
    items = document if isinstance(document, list) else [document]
    events = []
    for index, item in enumerate(items):
        wrapper = as_dict(item, f"{name}: item #{index + 1}")
        event = wrapper.get("Event", wrapper)
        if not isinstance(event, dict) or not ("Attribute" in event or "Object" in event):
            raise ImportRefused(f"{name}: item #{index + 1} is not a MISP event.")
        events.append(event)
    return events


def read_event(event: dict[str, Any], collector: Collector, where: str) -> None:
    event_id = text_of(event.get("uuid"), 64) or where
    collector.count_object(event_id)
    _refuse_reference_cycles(event, event_id)
    tags = _tags(event.get("Tag"), f"event {event_id}")
    base = {
        "tlp": _tlp(tags),
        "context": {"event": [text_of(event.get("info"), 200)]} if event.get("info") else {},
    }
    for attribute in as_list(event.get("Attribute"), f"event {event_id}: Attribute"):
        _attribute(attribute, tags, base, collector, event_id)
    for obj in as_list(event.get("Object"), f"event {event_id}: Object"):
        obj = as_dict(obj, f"event {event_id}: an object")
        collector.count_object(f"event {event_id} object {text_of(obj.get('uuid'), 64)}")
        for attribute in as_list(obj.get("Attribute"), f"object {obj.get('uuid')}: Attribute"):
            _attribute(attribute, tags, base, collector, event_id)


def _refuse_reference_cycles(event: dict[str, Any], event_id: str) -> None:
    graph: dict[str, list[str]] = {}
    for obj in as_list(event.get("Object"), f"event {event_id}: Object"):
        if not isinstance(obj, dict):
            continue
        source = str(obj.get("uuid", ""))
        for reference in as_list(obj.get("ObjectReference"), f"object {source}: references"):
            if isinstance(reference, dict) and reference.get("referenced_uuid"):
                graph.setdefault(source, []).append(str(reference["referenced_uuid"]))
    refuse_cycles(graph, f"event {event_id}: object references loop")


def _tags(raw: Any, where: str) -> list[str]:
    names = []
    for tag in as_list(raw, f"{where}: Tag"):
        name = tag.get("name") if isinstance(tag, dict) else None
        if isinstance(name, str):
            names.append(name[:200])
    return names


def _tlp(tags: list[str]) -> str:
    return next((TLP_TAGS[t.lower()] for t in tags if t.lower() in TLP_TAGS), "")


def _meaning(tags: list[str]) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(plain tags, ATT&CK ids, context) that tags carry."""
    plain: list[str] = []
    techniques: list[str] = []
    context: dict[str, list[str]] = {}
    for tag in tags:
        if tag.lower() in TLP_TAGS:
            continue
        galaxy = _GALAXY.match(tag)
        if galaxy and galaxy.group(1) == "misp-galaxy:mitre-attack-pattern":
            techniques.extend(TECHNIQUE.findall(galaxy.group(2)))
        elif galaxy and galaxy.group(1) in GALAXY_CONTEXT:
            context.setdefault(GALAXY_CONTEXT[galaxy.group(1)], []).append(galaxy.group(2))
        else:
            plain.append(tag)
    return plain[:50], list(dict.fromkeys(techniques)), context


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _attribute(
    raw: Any, event_tags: list[str], base: dict[str, Any], collector: Collector, event_id: str
) -> None:
    attribute = as_dict(raw, f"event {event_id}: an attribute")
    where = f"attribute {text_of(attribute.get('uuid'), 64) or '?'} (event {event_id})"
    collector.count_object(where)
    kind, value = attribute.get("type"), attribute.get("value")
    if not isinstance(kind, str) or not isinstance(value, str):
        raise ImportRefused(f"{where} has no type or value.")
    if _flag(attribute.get("deleted")):
        collector.skip(where, "deleted in MISP", value)
        return
    if not _flag(attribute.get("to_ids")):
        collector.skip(where, "to_ids is off (context, not for detection)", value)
        return
    mapping = MISP_TYPES.get(kind)
    if mapping is None:
        collector.skip(where, f"a MISP {kind} attribute is not an indicator socapp matches", value)
        return
    own_tags = _tags(attribute.get("Tag"), where)
    tags, techniques, context = _meaning([*event_tags, *own_tags])
    context = {**base["context"], **context}
    parts = value.split("|")
    about = {
        "external_id": text_of(attribute.get("uuid"), 64),
        "tlp": _tlp(own_tags) or base["tlp"],
        "first_seen": timestamp(attribute.get("first_seen"), where),
        "last_seen": timestamp(attribute.get("last_seen"), where),
        "description": text_of(attribute.get("comment")),
        "tags": tags,
        "attack_techniques": techniques,
        "context": context,
    }
    for ioc_type, part in mapping:
        if part >= len(parts):
            collector.skip(where, f"a {kind} value has no part {part + 1}", value)
            continue
        collector.add(ioc_type, parts[part], where, **about)
