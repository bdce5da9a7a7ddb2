"""One Snort alert as ECS fields, whichever output wrote it (``snort.py`` reads the
outputs): the ``alert_fast`` / ``alert_syslog`` line body, and the fields every form
shares. Also the syslog program parser for ``snort[pid]: [1:2019401:3] ...`` lines that
arrive on an ordinary syslog source.

Placement follows the Suricata parser (and Elastic's Snort module), so the IDS rules and
the CVE cross-correlation (docs/ASSETS.md) read both sensors alike: ``event.kind: alert``,
``rule.id``/``rule.name``/``rule.category``, ``source``/``destination``,
``network.transport``, ``event.severity`` from the priority, ``vulnerability.id`` from
the message.
"""

from __future__ import annotations

import re
from typing import Any

from socapp import cve as cves

from .base import RecordError, add_related, int_or_none, ip_or_none, port_or_none, put

EVENT_TYPE = "snort_alert"
DATASET = "snort.alert"
# Snort's classification.config priorities: 1 is the most severe, 4 the least.
SEVERITY_WORDS = {1: "high", 2: "medium", 3: "low", 4: "very low"}
# Verdicts that stopped the packet (Snort 2 "[Drop]", Snort 3 action "block"/"drop"/...);
# "would_drop"/"WDrop" is IDS mode saying what inline mode would have done: it passed.
BLOCKING = frozenset({"drop", "block", "reset", "reject", "sdrop"})
MAX_MESSAGE = 1024  # a rule's msg is short; a longer one is cut (Snort caps it too)

# [Drop] [**] [1:2019401:3] -- the action, the banner and the rule's gid:sid:rev.
_HEAD = re.compile(
    r"\s*(?:\[(?P<action>[A-Za-z_]{1,20})\]\s*)?(?:\[\*\*\]\s*)?"
    r"\[(?P<gid>\d{1,10}):(?P<sid>\d{1,10}):(?P<rev>\d{1,10})\]\s*"
)
# {TCP} 1.2.3.4:80 -> 5.6.7.8:1234 at the end of the line.
_TAIL = re.compile(r"\{(?P<proto>[^{}\s]{1,20})\}\s*(?P<src>\S{1,64})\s+->\s+(?P<dst>\S{1,64})\s*")
_BRACKETED = re.compile(r"\[(?P<key>Classification|Priority|AppID)\s*:\s*(?P<value>[^\]]{0,256})\]")
_INTERFACE = re.compile(r"<(?P<name>[^<>\s]{1,64})>")
_MESSAGE_END = re.compile(r"\[\*\*\]|\[(?:Classification|Priority|AppID)\s*:")
_RULE = re.compile(r"(?P<gid>\d{1,10}):(?P<sid>\d{1,10}):(?P<rev>\d{1,10})")
PORTED = frozenset({"tcp", "udp", "sctp"})


def rule_parts(text: str) -> tuple[int, int, int]:
    """``"1:2019401:3"`` -> ``(1, 2019401, 3)``."""
    match = _RULE.fullmatch(text.strip())
    if not match:
        raise RecordError(f"a Snort rule is gid:sid:rev, not {text[:40]!r}")
    return int(match["gid"]), int(match["sid"]), int(match["rev"])


def put_alert(
    doc: dict[str, Any],
    rule: tuple[int, int, int],
    message: str | None,
    priority: int | None,
    classification: str | None = None,
    action: str | None = None,
) -> None:
    """The ECS fields of one alert. ``rule.id`` is the sid for gid 1 (text rules: the
    number the ET and Talos rulesets, and Suricata's ``signature_id``, use), else
    ``gid:sid`` (preprocessor and shared-object rules reuse sids under their own gid)."""
    gid, sid, rev = rule
    message = message[:MAX_MESSAGE] if message else None
    put(doc, "event.kind", "alert")
    put(doc, "event.module", "snort")
    put(doc, "event.dataset", DATASET)
    put(doc, "event.category", ["network", "intrusion_detection"])
    put(doc, "observer.product", "Snort")
    put(doc, "observer.type", "ids")
    put(doc, "rule.id", str(sid) if gid == 1 else f"{gid}:{sid}")
    put(doc, "rule.version", str(rev))
    put(doc, "rule.name", message)
    put(doc, "rule.category", classification)
    put(doc, "message", message)
    put(doc, "event.severity", priority)
    put(doc, "event.severity_name", SEVERITY_WORDS.get(priority or 0))
    verdict = (action or "").lower()
    put(doc, "event.action", verdict)
    put(doc, "event.type", ["denied"] if verdict in BLOCKING else ["allowed"])
    put(doc, "event.outcome", "failure" if verdict in BLOCKING else None)
    # The message is the only place Snort's outputs name a CVE (docs/INGESTION.md, Snort).
    put(doc, "vulnerability.id", cves.in_text(message)[: cves.MAX_PER_TEXT] if message else None)
    put(doc, "snort.gid", gid)
    put(doc, "snort.sid", sid)
    put(doc, "snort.rev", rev)


def put_side(doc: dict[str, Any], side: str, address: Any, port: Any) -> None:
    ip = ip_or_none(address)
    put(doc, f"{side}.ip", ip)
    if not ip and isinstance(address, str):
        put(doc, f"{side}.address", address)
    put(doc, f"{side}.port", port_or_none(port))
    add_related(doc, "ip", ip)


def _endpoint(text: str, transport: str) -> tuple[str, str | None]:
    """``1.2.3.4:80`` -> ("1.2.3.4", "80"); ``2001:db8::1:80`` too (TCP/UDP/SCTP lines
    always end with the port); ``10.0.0.1`` of an ICMP line has none."""
    if transport in PORTED and ":" in text:
        address, _, port = text.rpartition(":")
        return address.strip("[]"), port
    return text, None


def read_line_body(text: str, doc: dict[str, Any]) -> bool:
    """An ``alert_fast``/``alert_syslog`` body, from the ``[gid:sid:rev]`` on, into ``doc``:
    False when ``text`` is not one. Bounded: one anchored match, one search from the last
    ``{`` on, one pass over the text between them."""
    head = _HEAD.match(text)
    if not head:
        return False
    rest = text[head.end() :]
    brace = rest.rfind("{")
    tail = _TAIL.fullmatch(rest, brace) if brace >= 0 else None
    middle = rest[:brace] if tail else rest
    ending = _MESSAGE_END.search(middle)
    message = (middle[: ending.start()] if ending else middle).strip()
    if len(message) > 1 and message[0] == message[-1] == '"':  # Snort 3 quotes it
        message = message[1:-1]
    fields = {m["key"]: m["value"].strip() for m in _BRACKETED.finditer(middle)}
    put_alert(
        doc,
        (int(head["gid"]), int(head["sid"]), int(head["rev"])),
        message,
        int_or_none(fields.get("Priority")),
        fields.get("Classification"),
        head["action"],
    )
    put(doc, "network.protocol", (fields.get("AppID") or "").lower() or None)
    if interface := _INTERFACE.search(middle[ending.start() :] if ending else ""):
        put(doc, "observer.ingress.interface.name", interface["name"])
    if tail:
        transport = tail["proto"].lower()
        put(doc, "network.transport", transport)
        for side, endpoint in (("source", tail["src"]), ("destination", tail["dst"])):
            put_side(doc, side, *_endpoint(endpoint, transport))
    return True


def from_syslog(message: str, doc: dict[str, Any]) -> str | None:
    """The syslog program parser for ``snort``: its alerts become alerts; anything else it
    logs (start-up, statistics) stays a plain syslog event."""
    return EVENT_TYPE if read_line_body(message, doc) else None
