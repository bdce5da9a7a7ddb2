"""Periodic work of the floor (scheduled by ``manage.py bootstrap``)."""

from __future__ import annotations

from celery import shared_task

from .audit_access import audit_flush_suppressed
from .audit_anchor import audit_anchor_write


@shared_task(name="socapp.tasks.audit_checkpoint")
def audit_checkpoint() -> int:
    """Write the summaries of failures that were only counted, then anchor the audit
    chain's head (stored, and logged to socapp.audit.anchor). Running it twice only adds
    a second anchor of the same head."""
    audit_flush_suppressed()
    return audit_anchor_write().head_seq
