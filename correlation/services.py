"""Correlating committed ingest batches."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone

from events.models import Event, IngestBatch

logger = logging.getLogger(__name__)


def batch_correlate(*, batch_id: uuid.UUID | str) -> int:
    """Evaluate the events of one committed batch; idempotent (a batch already marked
    correlated is skipped, so a re-sent message does nothing twice).

    Returns the number of events evaluated. Detection rules are evaluated here once the
    rule engine exists; today there is none, so evaluating means confirming the batch's
    events are stored and marking the batch as handled for the sweeper.
    """
    with transaction.atomic():
        batch = (
            IngestBatch.objects.select_for_update(skip_locked=True)
            .filter(pk=batch_id, correlated_at__isnull=True)
            .first()
        )
        if batch is None:  # already done, or another worker has it right now
            return 0
        events = Event.objects.filter(batch_id=batch.pk)
        if batch.first_event_time and batch.last_event_time:
            events = events.filter(
                event_time__gte=batch.first_event_time, event_time__lte=batch.last_event_time
            )
        evaluated = events.count()
        batch.correlated_at = timezone.now()
        batch.save(update_fields=["correlated_at"])
    logger.debug("batch %s: %d events evaluated", batch_id, evaluated)
    return evaluated
