"""Threat-intel tasks (thin: a service call, idempotent), scheduled by ``manage.py
bootstrap``: feed polling — beat looks for due feeds every minute and each due feed is
fetched in a task of its own, so a slow feed delays no other — and indicator expiry."""

from __future__ import annotations

from celery import shared_task

from .lifecycle import expire_indicators as expire
from .models import ThreatIntel
from .polling import claim, due_feeds, poll_alone
from .retrohunts import resend_stale_hunts


@shared_task(name="intel.tasks.poll_due_feeds")
def poll_due_feeds() -> int:
    """Queue a fetch of every feed whose poll interval has passed; how many."""
    queued = 0
    for feed in due_feeds():
        if claim(feed):
            poll_feed.delay(str(feed.pk))
            queued += 1
    return queued


@shared_task(name="intel.tasks.poll_feed")
def poll_feed(feed_id: str) -> dict[str, int]:
    """Fetch one feed and import it; the outcome is recorded on the feed. While another
    poll of the feed runs, this one is skipped and records nothing: it answers
    ``{"already_running": 1}`` (an import's own "skipped" counts indicators)."""
    feed = ThreatIntel.objects.filter(pk=feed_id, is_active=True).first()
    if feed is None:
        return {}
    result = poll_alone(feed)
    return {"already_running": 1} if result is None else result.counts()


@shared_task(name="intel.tasks.expire_indicators", acks_late=True)
def expire_indicators() -> int:
    """Indicators past their expiry become expired (with a sighting); retro-hunts whose
    message was lost are sent again."""
    resend_stale_hunts()
    return expire()
