"""STIX 2.1 bundles (and TAXII envelopes) into indicators.

Every object is checked by ``stix2`` (required properties, value types, identifiers)
before anything is kept: one invalid object, an unknown object type (custom ``x-``
types are skipped, not refused: STIX allows them) or a cycle of references refuses the
whole bundle with an error naming the object. Then:

- an ``indicator`` whose pattern is an OR of equalities (``patterns``) gives one IOC
  per value; other patterns are skipped with the reason. Its ``valid_until`` becomes the
  expiry, ``revoked`` the status, ``confidence`` (0-100) the confidence (0-1), its
  ``labels`` tags, its markings the TLP;
- observables (``ipv4-addr``, ``domain-name``, ``url``, ``file`` hashes and name, ...)
  give one IOC each;
- relationships from an indicator to malware, threat actors, campaigns, intrusion sets,
  tools and attack patterns (and one step on from those, e.g. malware -uses-> attack
  pattern) are kept as the IOC's context; ATT&CK technique ids come from attack
  patterns' ``mitre-attack`` external references.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import stix2
from stix2patterns.exceptions import ParseException

from ..choices import IocStatus, Tlp
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
from .patterns import Unsupported, comparisons

SDO_TYPES = {
    "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
    "indicator", "infrastructure", "intrusion-set", "location", "malware",
    "malware-analysis", "note", "observed-data", "opinion", "report", "threat-actor", "tool",
    "vulnerability",
}  # fmt: skip
SRO_TYPES = {"relationship", "sighting"}
META_TYPES = {"marking-definition", "language-content", "extension-definition"}
SCO_TYPES = {
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
    "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic",
    "process", "software", "url", "user-account", "windows-registry-key", "x509-certificate",
}  # fmt: skip
KNOWN_TYPES = SDO_TYPES | SRO_TYPES | META_TYPES | SCO_TYPES
CONTEXT_TYPES = {
    "malware": "malware",
    "threat-actor": "threat_actor",
    "campaign": "campaign",
    "intrusion-set": "intrusion_set",
    "tool": "tool",
    "attack-pattern": "attack_pattern",
    "infrastructure": "infrastructure",
    "vulnerability": "vulnerability",
}
# References that are bookkeeping, not content: an identity commonly names itself as
# its creator, so these are left out of the cycle check.
BOOKKEEPING_REFS = {"created_by_ref", "object_marking_refs", "marking_ref"}
# The TLP 1.0 marking definitions STIX 2.1 fixes (section 7.2.1.4), by id.
TLP_IDS = {
    stix2.TLP_WHITE.id: Tlp.CLEAR,
    stix2.TLP_GREEN.id: Tlp.GREEN,
    stix2.TLP_AMBER.id: Tlp.AMBER,
    stix2.TLP_RED.id: Tlp.RED,
}
TLP_ORDER: list[str] = [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED]
TLP_NAMES = {"white": Tlp.CLEAR, "clear": Tlp.CLEAR, "green": Tlp.GREEN, "amber": Tlp.AMBER,
             "amber+strict": Tlp.AMBER_STRICT, "red": Tlp.RED}  # fmt: skip
CONTEXT_DEPTH = 2


def parse_bundle(data: bytes, collector: Collector, name: str = "the bundle") -> None:
    document = as_dict(load_json(data, collector.limits, name), name)
    if document.get("type") != "bundle":
        if "objects" in document and "type" not in document:  # a TAXII envelope
            read_objects(as_list(document["objects"], f"{name}: objects"), collector)
            return
        raise ImportRefused(f"{name} is not a STIX bundle (its type is not 'bundle').")
    read_objects(as_list(document.get("objects"), f"{name}: objects"), collector)


def read_objects(raw: list[Any], collector: Collector) -> None:
    objects = _checked(raw, collector)
    _refuse_cycles(objects)
    markings = _tlp_markings(objects)
    relations = _relations(objects)
    for obj in objects.values():
        if obj["type"] == "indicator":
            _indicator(obj, objects, relations, markings, collector)
        elif obj["type"] in SCO_TYPES:
            _observable(obj, markings, collector)


# --- checking ---------------------------------------------------------------------------


def _checked(raw: list[Any], collector: Collector) -> dict[str, dict[str, Any]]:
    """The bundle's objects by id (the latest version of each), each validated."""
    objects: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(raw):
        obj = as_dict(item, f"object #{index + 1}")
        kind, object_id = obj.get("type"), obj.get("id")
        if not isinstance(kind, str) or not isinstance(object_id, str):
            raise ImportRefused(f"object #{index + 1} has no type or id.")
        collector.count_object(object_id)
        if not object_id.startswith(kind + "--"):
            raise ImportRefused(f"{object_id[:120]}: its id does not start with {kind}--.")
        if kind.startswith("x-"):
            collector.skip(object_id, f"a custom object type ({kind}) socapp does not read")
            continue
        if kind not in KNOWN_TYPES:
            raise ImportRefused(f"{object_id[:120]}: unknown STIX object type {kind!r}.")
        _validate(obj, object_id)
        previous = objects.get(object_id)
        if previous is None or str(obj.get("modified", "")) >= str(previous.get("modified", "")):
            objects[object_id] = obj
    return objects


def _validate(obj: dict[str, Any], object_id: str) -> None:
    version = obj.get("spec_version", "2.1")
    try:
        stix2.parse(obj, allow_custom=True, version=version if version == "2.0" else "2.1")
    # stix2 reports invalid objects with many exception types (its own, ValueError,
    # TypeError, KeyError...): whatever it raises, the object is invalid.
    except Exception as exc:
        message = " ".join(str(exc).split())[:300]
        raise ImportRefused(f"{object_id[:120]} is not a valid STIX object: {message}") from None


def _edges(obj: dict[str, Any]) -> Iterable[str]:
    """The ids an object points to (relationships: source to target)."""
    if obj["type"] == "relationship":
        yield str(obj.get("target_ref", ""))
        return
    for key, value in obj.items():
        if key in BOOKKEEPING_REFS:
            continue
        if key.endswith("_ref") and isinstance(value, str):
            yield value
        elif key.endswith("_refs") and isinstance(value, list):
            yield from (item for item in value if isinstance(item, str))


def _refuse_cycles(objects: dict[str, dict[str, Any]]) -> None:
    """Refuse a bundle whose references loop (relationships count as source -> target),
    naming the objects on the loop."""
    graph: dict[str, list[str]] = defaultdict(list)
    for object_id, obj in objects.items():
        if obj["type"] == "relationship":
            source = str(obj.get("source_ref", ""))
            target = str(obj.get("target_ref", ""))
            if source in objects and target in objects:
                graph[source].append(target)
            continue
        graph[object_id].extend(ref for ref in _edges(obj) if ref in objects)
    refuse_cycles(graph)


# --- markings and context ---------------------------------------------------------------


def _tlp_markings(objects: dict[str, dict[str, Any]]) -> dict[str, str]:
    found = dict(TLP_IDS)
    for object_id, obj in objects.items():
        if obj["type"] != "marking-definition":
            continue
        definition = obj.get("definition")
        if obj.get("definition_type") == "tlp" and isinstance(definition, dict):
            tlp = TLP_NAMES.get(str(definition.get("tlp", "")).lower())
        else:  # TLP 2.0 as an extension: {"extensions": {"extension-definition--...": {...}}}
            tlp = None
            for extension in (obj.get("extensions") or {}).values():
                if isinstance(extension, dict) and "tlp_2_0" in extension:
                    tlp = TLP_NAMES.get(str(extension["tlp_2_0"]).lower())
        if tlp:
            found[object_id] = tlp
    return found


def _tlp_of(obj: dict[str, Any], markings: dict[str, str]) -> str:
    levels = [markings[ref] for ref in obj.get("object_marking_refs") or [] if ref in markings]
    return max(levels, key=TLP_ORDER.index) if levels else ""


def _relations(objects: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    related: dict[str, list[str]] = defaultdict(list)
    for obj in objects.values():
        if obj["type"] == "relationship":
            related[str(obj.get("source_ref"))].append(str(obj.get("target_ref")))
    return related


def _techniques(obj: dict[str, Any]) -> list[str]:
    return [
        str(reference["external_id"])
        for reference in obj.get("external_references") or []
        if isinstance(reference, dict)
        and reference.get("source_name") == "mitre-attack"
        and isinstance(reference.get("external_id"), str)
    ]


def _context(
    start: str, objects: dict[str, dict[str, Any]], relations: dict[str, list[str]]
) -> tuple[dict[str, list[str]], list[str]]:
    """What the indicator relates to, ``CONTEXT_DEPTH`` relationships out (the graph
    has no cycles: they were refused)."""
    context: dict[str, list[str]] = defaultdict(list)
    techniques: list[str] = []
    frontier, seen = [start], {start}
    for _ in range(CONTEXT_DEPTH):
        following = []
        for source in frontier:
            for target in relations.get(source, ()):
                obj = objects.get(target)
                if target in seen or obj is None or obj["type"] not in CONTEXT_TYPES:
                    continue
                seen.add(target)
                following.append(target)
                name = text_of(obj.get("name"), 200) or target
                context[CONTEXT_TYPES[obj["type"]]].append(name)
                techniques.extend(_techniques(obj))
        frontier = following
    return {kind: names[:50] for kind, names in context.items()}, list(dict.fromkeys(techniques))


# --- indicators and observables ---------------------------------------------------------


def _indicator(
    obj: dict[str, Any],
    objects: dict[str, dict[str, Any]],
    relations: dict[str, list[str]],
    markings: dict[str, str],
    collector: Collector,
) -> None:
    object_id = obj["id"]
    if obj.get("pattern_type", "stix") != "stix":
        collector.skip(object_id, f"a {obj.get('pattern_type')} pattern, not a STIX one")
        return
    try:
        values, unknown = comparisons(str(obj.get("pattern", "")))
    except Unsupported as exc:
        collector.skip(object_id, str(exc), text_of(obj.get("pattern"), 200))
        return
    except ParseException as exc:
        raise ImportRefused(f"{object_id}: the pattern is not valid STIX ({exc}).") from None
    if not values:
        reason = "the pattern compares nothing socapp matches: " + ", ".join(unknown[:5])
        collector.skip(object_id, reason, text_of(obj.get("pattern"), 200))
        return
    context, techniques = _context(object_id, objects, relations)
    confidence = obj.get("confidence")
    about = {
        "external_id": object_id,
        "confidence": confidence / 100 if isinstance(confidence, int) else None,
        "tlp": _tlp_of(obj, markings),
        "status": IocStatus.REVOKED if obj.get("revoked") else IocStatus.ACTIVE,
        "expires_at": timestamp(obj.get("valid_until"), object_id),
        "first_seen": timestamp(obj.get("valid_from"), object_id),
        "description": text_of(obj.get("description")) or text_of(obj.get("name")),
        "tags": [str(label)[:100] for label in obj.get("labels") or []][:50],
        "attack_techniques": techniques,
        "context": context,
    }
    for ioc_type, value in values:
        collector.add(ioc_type, value, object_id, **about)


def _observable(obj: dict[str, Any], markings: dict[str, str], collector: Collector) -> None:
    object_id, kind = obj["id"], obj["type"]
    about: dict[str, Any] = {"external_id": object_id, "tlp": _tlp_of(obj, markings)}
    values: list[tuple[str | None, str]] = []
    if kind in ("ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr"):
        values.append((_SCO_VALUE_TYPES[kind], str(obj.get("value", ""))))
    elif kind in ("file", "artifact", "x509-certificate"):
        hashes = obj.get("hashes") or {}
        for algorithm, digest in hashes.items() if isinstance(hashes, dict) else ():
            ioc_type = _HASH_NAMES.get(str(algorithm).lower())
            if ioc_type:
                values.append((ioc_type, str(digest)))
        if kind == "file" and obj.get("name"):
            values.append(("filename", str(obj["name"])))
    if not values:
        collector.skip(object_id, f"a {kind} observable is not an indicator socapp matches")
    for ioc_type, value in values:
        collector.add(ioc_type, value, object_id, **about)


_SCO_VALUE_TYPES: dict[str, str] = {
    "ipv4-addr": "ipv4",
    "ipv6-addr": "ipv6",
    "domain-name": "domain",
    "url": "url",
    "email-addr": "email",
}
_HASH_NAMES = {"md5": "md5", "sha-1": "sha1", "sha1": "sha1", "sha-256": "sha256",
               "sha256": "sha256"}  # fmt: skip
