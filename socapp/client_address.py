"""The client address of a request: the TCP peer, or, when the peer is one of our own
proxies (``TRUSTED_PROXIES``), the address those proxies say they received it from.

``X-Forwarded-For`` is written by every hop, the client included, so only its tail
added by our own proxies can be believed: the list is read from the right, skipping
trusted proxies, and the first address that is not one of them is the client. A
client that sends its own header only adds entries to the left of what our proxy
appends, so it cannot choose the address we see. Without trusted proxies (the
default) the header is ignored. Audit entries, login lockout and token throttling
all take the address from here (through ``socapp.audit.request_addr``).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) as networks; ValueError names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP network: {value!r}") from exc
    return tuple(networks)


@functools.cache
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def _address(value: str) -> Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # An IPv4 client seen through a dual-stack socket is the IPv4 address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address(meta: Mapping[str, Any]) -> str | None:
    """The client's address for a request's META (None when the peer is unknown)."""
    peer = _address(str(meta.get("REMOTE_ADDR") or ""))
    if peer is None:
        return None
    proxies = _trusted(tuple(settings.TRUSTED_PROXIES))
    if not proxies:
        return str(peer)
    client = peer
    hops = [hop for hop in str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not any(client in network for network in proxies):
            break  # ``client`` reached us directly or through a proxy we trust
        address = _address(hop)
        if address is None:
            break  # garbage before our proxy's entry: keep the last address we can trust
        client = address
    return str(client)
