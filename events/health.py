"""Source health: a source that sent nothing for longer than its ``silent_after_minutes``
setting becomes a health event, which the default rule pack's "Log source gone silent"
rule turns into an alert.

The check runs every minute (``events.tasks.check_source_health``). It writes its events
through the normal ingest path, under one internal source per team ("socapp health:
<team>"), so the alert lands with the silent source's team and every view of events,
rules and alerts works on it unchanged. One silence is one event: its id and time come
from the silent source's ``last_seen``, so re-running the check stores nothing new.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from .choices import LogFormat, SourceType, Transport
from .ingest import events_ingest
from .models import Source
from .parsers import RawRecord

SILENT_AFTER_SETTING = "silent_after_minutes"
HEALTH_SOURCE_PREFIX = "socapp health: "


def silence_threshold(source: Source) -> timedelta | None:
    """How long ``source`` may stay quiet, or None when nobody asked us to watch it."""
    value = (source.configuration or {}).get(SILENT_AFTER_SETTING)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return timedelta(minutes=value)


def silent_sources(now: datetime) -> list[tuple[Source, datetime, timedelta]]:
    """Active watched sources quiet for longer than their threshold, with the time they
    were last heard from (their creation, if never) and the threshold."""
    found = []
    watched = (
        Source.objects.filter(is_active=True)
        .filter(Q(configuration__has_key=SILENT_AFTER_SETTING))
        .exclude(name__startswith=HEALTH_SOURCE_PREFIX)
        .select_related("team")
    )
    for source in watched:
        threshold = silence_threshold(source)
        heard = source.last_seen or source.created_at
        if threshold is not None and now - heard > threshold:
            found.append((source, heard, threshold))
    return found


def health_source(team: Any) -> Source:
    source, _ = Source.objects.get_or_create(
        name=f"{HEALTH_SOURCE_PREFIX}{team.name}"[:255],
        defaults={
            "team": team,
            "format": LogFormat.JSON,
            "source_type": SourceType.OTHER,
            "description": "Events socapp records about the health of this team's sources.",
        },
    )
    return source


def silence_record(source: Source, heard: datetime, threshold: timedelta) -> dict[str, Any]:
    minutes = threshold.total_seconds() / 60
    return {
        "@timestamp": (heard + threshold).isoformat(),
        "message": (
            f"Source {source.name!r} has sent nothing since {heard.isoformat()} "
            f"(allowed: {minutes:g} minutes)."
        ),
        "event": {
            "id": f"source-silent:{source.pk}:{heard.isoformat()}",
            "kind": "state",
            "module": "socapp",
            "dataset": "socapp.health",
            "action": "source-silent",
            "category": ["host"],
        },
        "observer": {"name": source.name, "type": source.source_type},
        "socapp": {
            "source": {"id": str(source.pk), "name": source.name},
            "last_seen": heard.isoformat(),
            SILENT_AFTER_SETTING: minutes,
        },
    }


def report_silent_sources(now: datetime | None = None) -> int:
    """Record a health event for each source gone silent; returns how many are new."""
    now = now or timezone.now()
    recorded = 0
    for source, heard, threshold in silent_sources(now):
        result = events_ingest(
            source=health_source(source.team),
            records=[RawRecord(1, silence_record(source, heard, threshold))],
            transport=Transport.HEALTH,
            log_format=LogFormat.JSON,
        )
        recorded += result.accepted
    return recorded
