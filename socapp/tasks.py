"""Periodic work of the floor (scheduled by ``manage.py bootstrap``)."""

from __future__ import annotations

from celery import shared_task

from .audit_anchor import audit_anchor_write


@shared_task(name="socapp.tasks.audit_checkpoint")
def audit_checkpoint() -> int:
    """Anchor the audit chain's head (stored, and logged to socapp.audit.anchor).
    Idempotent enough: a second run only adds a second anchor of the same head."""
    return audit_anchor_write().head_seq
