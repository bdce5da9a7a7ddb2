"""Correlation tasks (thin: ids in, a service call, idempotent)."""

from celery import shared_task

from .services import batch_correlate, check_correlation_lag, close_windows


@shared_task(name="correlation.tasks.correlate_batch", acks_late=True)
def correlate_batch(batch_id: str) -> int:
    return batch_correlate(batch_id=batch_id)


@shared_task(name="correlation.tasks.close_correlation_windows", acks_late=True)
def close_correlation_windows() -> int:
    """Decide correlation windows whose time is up ("fewer than", absence)."""
    return close_windows()


@shared_task(name="correlation.tasks.check_correlation_lag")
def check_lag() -> bool:
    """Alert once per episode when correlation lag passes CORRELATION_LAG_ALERT_SECONDS."""
    return check_correlation_lag()
