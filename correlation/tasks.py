"""Correlation tasks (thin: ids in, a service call, idempotent)."""

from celery import shared_task

from .services import batch_correlate, check_correlation_lag, close_windows
from .services.health import check_indicator_cap
from .services.retrohunt import retro_hunt_run


@shared_task(name="correlation.tasks.correlate_batch", acks_late=True)
def correlate_batch(batch_id: str) -> int:
    return batch_correlate(batch_id=batch_id)


@shared_task(name="correlation.tasks.close_correlation_windows", acks_late=True)
def close_correlation_windows() -> int:
    """Decide correlation windows whose time is up ("fewer than", absence)."""
    return close_windows()


@shared_task(name="correlation.tasks.check_correlation_lag")
def check_lag() -> bool:
    """Alert once per episode when correlation lag passes CORRELATION_LAG_ALERT_SECONDS,
    and when more indicators are active than matching loads."""
    check_indicator_cap()
    return check_correlation_lag()


@shared_task(name="correlation.tasks.retro_hunt", acks_late=True)
def retro_hunt(hunt_id: str) -> int:
    """Search stored events for a retro-hunt's indicators (resumes where it stopped)."""
    hunt = retro_hunt_run(hunt_id=hunt_id)
    return hunt.matches if hunt is not None else 0
