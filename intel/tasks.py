"""Threat-intel tasks (thin: a service call, idempotent)."""

from celery import shared_task

from .lifecycle import expire_indicators as expire
from .retrohunts import resend_stale_hunts


@shared_task(name="intel.tasks.expire_indicators", acks_late=True)
def expire_indicators() -> int:
    """Indicators past their expiry become expired (with a sighting); retro-hunts whose
    message was lost are sent again."""
    resend_stale_hunts()
    return expire()
