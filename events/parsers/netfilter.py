"""Linux netfilter log lines (iptables, nftables, ufw, firewalld) as ECS network events.

``kernel: [UFW BLOCK] IN=eth0 OUT= MAC=... SRC=a DST=b ... PROTO=TCP SPT=1 DPT=2 ...``: the
prefix an administrator chose names the action (drop, reject, accept, or whatever they
wrote), the key=value pairs the packet.
"""

from __future__ import annotations

import re
from typing import Any

from .base import add_related, int_or_none, ip_or_none, port_or_none, put

# The packet's KEY=value pairs start at the first upper-case key; before it is the prefix.
_START = re.compile(r"(?:\[\s*\d+\.\d+\]\s*)?(?P<prefix>.*?)\s*(?P<rest>\b[A-Z]+=.*)$")
_KV = re.compile(r"([A-Z]+)=(\S*)")
_FLAGS = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")
DENIED = ("drop", "deny", "reject", "block", "denied", "refuse")
ALLOWED = ("accept", "allow", "pass", "audit")


def kernel(message: str, doc: dict[str, Any]) -> str | None:
    match = _START.match(message)
    if not match or not ("SRC=" in message or "PROTO=" in message):
        return None
    fields = dict(_KV.findall(match["rest"]))
    words = message.split()
    prefix = match["prefix"].strip().strip("[]:").strip()
    put(doc, "event.dataset", "iptables.log")
    put(doc, "event.category", ["network"])
    put(doc, "observer.name", doc.get("host", {}).get("hostname"))
    action = _action(prefix)
    put(doc, "event.action", action)
    kind = (
        "denied"
        if any(w in action for w in DENIED)
        else ("allowed" if any(w in action for w in ALLOWED) else "info")
    )
    put(doc, "event.type", ["connection", kind])
    if kind != "info":
        put(doc, "event.outcome", "success" if kind == "allowed" else "failure")
    put(doc, "iptables.prefix", prefix)
    put(doc, "iptables.input_device", fields.get("IN"))
    put(doc, "iptables.output_device", fields.get("OUT"))
    put(doc, "observer.ingress.interface.name", fields.get("IN"))
    put(doc, "observer.egress.interface.name", fields.get("OUT"))
    _mac(doc, fields.get("MAC", ""))
    for ecs, key in (("source", "SRC"), ("destination", "DST")):
        address = ip_or_none(fields.get(key))
        put(doc, f"{ecs}.ip", address)
        add_related(doc, "ip", address)
    put(doc, "source.port", port_or_none(fields.get("SPT")))
    put(doc, "destination.port", port_or_none(fields.get("DPT")))
    transport = (fields.get("PROTO") or "").lower()
    put(doc, "network.transport", transport)
    put(doc, "network.type", "ipv6" if ":" in fields.get("SRC", "") else "ipv4")
    for name, key in (("length", "LEN"), ("ttl", "TTL"), ("id", "ID")):
        put(doc, f"iptables.{name}", int_or_none(fields.get(key)))
    if transport == "tcp":
        put(doc, "iptables.tcp.flags", [w for w in words if w in _FLAGS])
        put(doc, "iptables.tcp.window", int_or_none(fields.get("WINDOW")))
    if "DF" in words:
        put(doc, "iptables.fragment_flags", ["DF"])
    return f"firewall_{kind}" if kind != "info" else "firewall_log"


def _action(prefix: str) -> str:
    """ "UFW BLOCK" -> "block", "iptables DROP_INPUT" -> "drop_input",
    "FINAL_REJECT" -> "final_reject", "[LAN_LOCAL-default-A]" -> "lan_local-default-a"."""
    words = [w for w in re.split(r"\s+", prefix.lower()) if w and w not in ("ufw", "iptables")]
    return "_".join(words) or "log"


def _mac(doc: dict[str, Any], mac: str) -> None:
    """MAC=<destination 6 octets>:<source 6 octets>:<ethertype 2 octets>."""
    octets = mac.split(":")
    if len(octets) >= 12:
        put(doc, "destination.mac", ":".join(octets[:6]))
        put(doc, "source.mac", ":".join(octets[6:12]))
