"""Demo users and a demo day for ``bootstrap --demo`` (what `make run` shows).

Made by the product itself: a day of logs from five sources (``story``) goes through the
ingest path and the correlation engine (``replay``), so the alerts are the default rule
pack's, with their entities, statistics and source attribution; the demo incident manager
then escalates the story's alerts into an incident (``casework``). Before the replay, a
partner's threat-intel feed and a vulnerability scan are imported (``context``), so the
day also shows an indicator match and a severity raised by an open finding. Nothing is
hand-made but the logs, the inventory, the feed, the scan and a response connector.
Created once; later runs leave it alone (the day is not replayed twice).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from socapp.models import DEFAULT_TEAM, Team

from .casework import open_incident
from .context import import_context
from .replay import (
    MARKER_SOURCE,
    SOURCES,
    create_sources,
    ensure_assets,
    refresh_volumes,
    replay,
)
from .story import demo_day
from .users import DEMO_USERS, DemoLogin, credentials_path, ensure_demo_users

__all__ = [
    "DEMO_USERS",
    "SOURCES",
    "DemoLogin",
    "DemoReport",
    "credentials_path",
    "ensure_demo_data",
    "ensure_demo_users",
]


@dataclass
class DemoReport:
    created: bool
    events: int = 0
    alerts: int = 0
    indicators: int = 0
    findings: int = 0
    incident: str | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.created:
            return "demo data: already present"
        case = f", incident {self.incident}" if self.incident else ""
        return (
            f"demo data: created - {self.events} events from {len(SOURCES)} sources, "
            f"{self.alerts} alerts{case}, {self.indicators} indicators, "
            f"{self.findings} scanner findings ({self.seconds:.1f} s)"
        )


def ensure_demo_data(now: datetime | None = None) -> DemoReport:
    """Replay the demo day unless it was loaded before. All or nothing: one transaction
    (the demo users must exist: ``ensure_demo_users``)."""
    from events.models import Source
    from incidents.models import Alert

    if Source.objects.filter(name=MARKER_SOURCE).exists():
        return DemoReport(created=False)
    started = time.perf_counter()
    users = get_user_model().objects.in_bulk([u for u, *_ in DEMO_USERS], field_name="username")
    team = Team.objects.get(name=DEFAULT_TEAM)
    now = now or datetime.now(tz=UTC)
    with transaction.atomic():
        ensure_assets(team)
        context = import_context(users["admin"], now)  # before the replay: ingest matches
        sources = create_sources(team, users["admin"])
        replayed = replay(sources, demo_day(now))
        incident = open_incident(users["manager"], users.get("analyst"))
        _connectors()
    refresh_volumes()
    return DemoReport(
        created=True,
        events=replayed.events,
        alerts=Alert.objects.filter(team=team).count(),
        incident=incident.number if incident else None,
        indicators=context.indicators,
        findings=context.findings,
        seconds=time.perf_counter() - started,
    )


def _connectors() -> None:
    """A connector every response action can use on a laptop: it runs echo, so the
    demo shows an action's exit status and output without touching a firewall."""
    from incidents.models import Connector

    Connector.objects.get_or_create(
        name="demo: echo",
        defaults={
            "kind": "command",
            "command": ["echo", "demo would act on", "{target}", "for", "{incident}"],
            "action_types": ["block_ip", "disable_account", "isolate_host"],
        },
    )
