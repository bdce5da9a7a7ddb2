"""Which source a syslog message belongs to: by sender address, network or host name."""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Route:
    source_id: Any
    name: str


class SenderRouter:
    """Maps (peer address, HOSTNAME) to a source from an in-memory table; the listener
    re-reads the table (``reload``, off the event loop) every few seconds so that sources
    added in the admin start receiving without a restart."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.loaded_at = 0.0
        self._by_address: dict[str, Route] = {}
        self._by_network: list[tuple[Network, Route]] = []
        self._by_hostname: dict[str, Route] = {}

    def reload(self) -> None:
        from ..selectors import syslog_sender_table

        by_address, by_network, by_hostname = {}, [], {}
        for source_id, name, pattern in syslog_sender_table():
            route = Route(source_id, name)
            text = pattern.strip()
            try:
                if "/" in text:
                    by_network.append((ipaddress.ip_network(text, strict=False), route))
                else:
                    by_address[str(ipaddress.ip_address(text))] = route
            except ValueError:
                by_hostname[text.lower()] = route
        by_network.sort(key=lambda item: item[0].prefixlen, reverse=True)  # most specific first
        with self._lock:
            self._by_address, self._by_network, self._by_hostname = (
                by_address,
                by_network,
                by_hostname,
            )
            self.loaded_at = time.monotonic()

    def by_address(self, address: str) -> Route | None:
        with self._lock:
            route = self._by_address.get(address)
            if route:
                return route
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                return None
            for network, candidate in self._by_network:
                if ip.version == network.version and ip in network:
                    return candidate
        return None

    def by_hostname(self, hostname: str | None) -> Route | None:
        if not hostname:
            return None
        with self._lock:
            return self._by_hostname.get(hostname.lower())

    @property
    def knows_hostnames(self) -> bool:
        with self._lock:
            return bool(self._by_hostname)


def catchall_route() -> Route:
    """The source unknown senders go to (made on first use, owned by the default team)."""
    from socapp.models import DEFAULT_TEAM, Team

    from ..models import Source

    name = settings.SYSLOG_CATCHALL_SOURCE
    with transaction.atomic():
        team, _ = Team.objects.get_or_create(name=DEFAULT_TEAM)
        source, _ = Source.objects.get_or_create(
            name=name,
            defaults={
                "format": "syslog",
                "source_type": "other",
                "team": team,
                "description": "Syslog from senders no source names.",
            },
        )
    return Route(source.pk, source.name)
