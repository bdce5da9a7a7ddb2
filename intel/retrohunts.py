"""Retro-hunt records: asked for when indicators arrive, run by a worker
(``correlation.services.retrohunt``, which reads events and raises alerts), their
progress kept here for the API and the admin."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from socapp.users import User

from .models import RetroHunt

logger = logging.getLogger(__name__)

RETRO_HUNT_TASK = "correlation.tasks.retro_hunt"


def retro_hunt_request(
    *,
    ioc_ids: Iterable[Any],
    actor: User | None = None,
    days: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> RetroHunt | None:
    """A retro-hunt of the last ``days`` (RETRO_HUNT_DAYS) of stored events for the
    indicators ``ioc_ids``, queued for a worker once this transaction commits; ``since``
    and ``until`` (event times, both included) narrow it to a window of those days."""
    ids = list(dict.fromkeys(ioc_ids))
    if not ids:
        return None
    days = int(settings.RETRO_HUNT_DAYS if days is None else days)
    now = timezone.now()
    start, end = now - timedelta(days=days), now
    if since is not None and until is not None:
        # the hunt reads [start, end): a microsecond past the last event time
        start, end = max(start, since), until + timedelta(microseconds=1)
        if start >= end:
            return None
    hunt = RetroHunt.objects.create(
        range_start=start,
        range_end=end,
        indicator_count=len(ids),
        requested_by=actor,
    )
    through = RetroHunt.indicators.through
    through.objects.bulk_create(
        [through(retrohunt_id=hunt.pk, ioc_id=pk) for pk in ids], batch_size=5000
    )
    hunt_id = str(hunt.pk)
    transaction.on_commit(lambda: send_retro_hunt(hunt_id))
    return hunt


def send_retro_hunt(hunt_id: str) -> None:
    """Hand a hunt to a worker (by task name: this app imports none above it). A lost
    message leaves the hunt pending; the expiry beat task re-sends pending hunts."""
    from socapp.celery import app

    try:
        app.signature(RETRO_HUNT_TASK, args=[hunt_id]).apply_async()
    except Exception:
        logger.warning("could not enqueue retro-hunt %s", hunt_id, exc_info=True)


def resend_stale_hunts(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Hunts still pending (a lost message) or running without progress for a while
    (a worker that died) are sent again; a hunt resumes where it stopped."""
    cutoff = timezone.now() - older_than
    stale = RetroHunt.objects.filter(
        status__in=[RetroHunt.Status.PENDING, RetroHunt.Status.RUNNING], created_at__lt=cutoff
    ).values_list("id", flat=True)[:100]
    for hunt_id in stale:
        send_retro_hunt(str(hunt_id))
    return len(stale)


def retro_hunt_get(hunt_id: Any) -> RetroHunt | None:
    return RetroHunt.objects.filter(pk=hunt_id).first()


def retro_hunt_indicator_ids(hunt: RetroHunt) -> list[Any]:
    return list(hunt.indicators.values_list("id", flat=True))


def retro_hunt_start(hunt: RetroHunt) -> None:
    hunt.status = RetroHunt.Status.RUNNING
    hunt.started_at = hunt.started_at or timezone.now()
    hunt.save(update_fields=["status", "started_at"])


def retro_hunt_progress(
    hunt: RetroHunt, *, until: datetime, scanned: int, matched: int, alerts: int
) -> None:
    """One more slice done (in the slice's transaction: it resumes after it)."""
    hunt.searched_until = until
    hunt.events_scanned += scanned
    hunt.matches += matched
    hunt.alerts += alerts
    total = (hunt.range_end - hunt.range_start).total_seconds()
    done = (until - hunt.range_start).total_seconds()
    hunt.progress = round(min(1.0, done / total), 4) if total > 0 else 1.0
    hunt.save(update_fields=["searched_until", "events_scanned", "matches", "alerts", "progress"])


def retro_hunt_finish(hunt: RetroHunt, *, error: str = "") -> None:
    hunt.status = RetroHunt.Status.FAILED if error else RetroHunt.Status.DONE
    hunt.error = error[:5000]
    if not error:
        hunt.progress = 1.0
    hunt.finished_at = timezone.now()
    hunt.save(update_fields=["status", "error", "progress", "finished_at"])
