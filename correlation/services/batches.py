"""Correlating committed ingest batches within a time budget.

A batch is evaluated in one transaction under its row lock. When that takes longer than
``CORRELATION_BATCH_BUDGET_SECONDS`` the attempt is rolled back and the batch is split in
two halves (``BatchPart``, by position in event-time order), which are evaluated one after
the other, each as its own task, each with the same budget, split again if need be - so a
heavy batch costs the queue one budget at a time and other sources' batches keep flowing.
Re-running events is harmless by design (derived alert ids, hits kept once in Redis, unique
event links), so a rolled-back attempt leaves nothing that the retry would duplicate.

The rule that took the most time in an over-budget attempt gets a strike; a rule that is
the heaviest in ``CORRELATION_BUDGET_STRIKES`` consecutive over-budget attempts is turned
off (``health.rule_disable_over_budget``) and the part is retried without it. The count
starts afresh when an attempt blames another rule, or when a split part is done within
the budget (the split was enough); whole batches done in between do not reset it, so a
rule heavy on one kind of batch is caught while the others flow.

A source's batches are evaluated in commit order (``_waits_its_turn``), so any number of
workers feeds a source's correlation windows in the order one worker would, and raises the
same alerts; several workers share the work across sources.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from events.ingest import request_correlation
from events.selectors import batch_has_earlier_uncorrelated
from events.services import batch_lock_uncorrelated, batch_mark_correlated
from socapp.collector import without_cyclic_gc
from socapp.kv import kv, text

from ..engine.correlate import correlate_events
from ..engine.evaluate import Budget, OverBudget, StoredEvent
from ..engine.ruleset import active_ruleset, forget
from ..models import BatchPart, RuleStats
from .health import rule_disable_over_budget

if TYPE_CHECKING:
    from events.models import IngestBatch

logger = logging.getLogger(__name__)

# a waiting set outlives no lost hand-on by much: the sweeper re-sends old batches anyway
WAITING_TTL = 3600


def budget_seconds() -> float | None:
    value = float(getattr(settings, "CORRELATION_BATCH_BUDGET_SECONDS", 60))
    return value if value > 0 else None


def budget_strikes() -> int:
    return max(1, int(getattr(settings, "CORRELATION_BUDGET_STRIKES", 3)))


@without_cyclic_gc  # a batch's decoded documents: see without_cyclic_gc
def batch_correlate(*, batch_id: uuid.UUID | str) -> int:
    """Evaluate one committed batch (or its next pending part) against the active rules;
    idempotent (a batch already marked correlated is skipped). Returns the number of
    events evaluated (0 when skipped or over budget)."""
    with transaction.atomic():
        batch = batch_lock_uncorrelated(batch_id=batch_id)
        if batch is None:  # already done, or another worker has it right now
            return 0
        if _waits_its_turn(batch):
            return 0
        parts = BatchPart.objects.filter(batch=batch)
        part = parts.filter(done_at__isnull=True).order_by("start").first()
        if part is None and parts.exists():  # every part is done
            _done(batch)
            return 0
        events = _ordered(_batch_events(batch))
        low, high = (part.start, part.end) if part else (0, len(events))
        chosen = events[low:high]
        ruleset = active_ruleset()  # compiling is not the batch's time
        budget = Budget(budget_seconds())
        try:
            with transaction.atomic():  # a savepoint: an attempt over budget leaves nothing
                correlate_events(chosen, ruleset, budget=budget, batch_id=batch.pk)
        except OverBudget:
            _over_budget(batch, part, low, high, budget)
            transaction.on_commit(lambda: request_correlation(str(batch_id)))
            return 0
        if part is not None:
            # a split part done within the budget: the split worked, the runs of blame end
            RuleStats.objects.filter(budget_strikes__gt=0).update(budget_strikes=0)
            part.done_at = timezone.now()
            part.save(update_fields=["done_at"])
            if parts.filter(done_at__isnull=True).exists():
                transaction.on_commit(lambda: request_correlation(str(batch_id)))
                return len(chosen)
        _done(batch)
    logger.debug("batch %s: %d events evaluated", batch_id, len(chosen))
    return len(chosen)


def _waiting_key(source_id: Any) -> str:
    return f"correlation:waiting:{source_id}"


def _waits_its_turn(batch: IngestBatch) -> bool:
    """A source's batches are evaluated in commit order, whatever the number of workers:
    windows fed out of order would fire at other events (two workers gave other
    distinct-count alerts than one). A batch with an earlier one of its source still
    uncorrelated leaves itself in the source's waiting set; whoever finishes a batch of
    the source hands the set on (``_hand_on``).

    The batch joins the set *before* looking, so the earlier batch cannot finish unseen
    between the look and the join."""
    key = _waiting_key(batch.source_id)
    member = str(batch.pk)
    client = kv()
    with client.pipeline() as pipe:
        pipe.sadd(key, member)
        pipe.expire(key, WAITING_TTL)
        pipe.execute()
    if batch_has_earlier_uncorrelated(batch):
        logger.debug("batch %s waits for an earlier batch of its source", batch.pk)
        return True
    client.srem(key, member)
    return False


def _done(batch: IngestBatch) -> None:
    batch_mark_correlated(batch=batch)
    source_id = batch.source_id
    transaction.on_commit(lambda: _hand_on(source_id))


def _hand_on(source_id: Any) -> None:
    """After a batch of ``source_id`` committed: ask again for the batches of the source
    that waited for it (each looks again, and waits again if it is still not its turn)."""
    key = _waiting_key(source_id)
    with kv().pipeline() as pipe:  # MULTI: whoever joins after this is seen next time
        pipe.smembers(key)
        pipe.delete(key)
        waiting, _ = pipe.execute()
    for member in sorted(text(m) for m in waiting):  # uuid7 ids: oldest first
        request_correlation(member)


def _ordered(events: Iterable[StoredEvent]) -> list[StoredEvent]:
    """The batch in the order parts are cut from: the same on every attempt."""
    return sorted(events, key=lambda e: (e.event_time, e.event_id))


def _over_budget(
    batch: IngestBatch, part: BatchPart | None, low: int, high: int, budget: Budget
) -> None:
    """Strike the heaviest rule (disabling it at the limit) and split what ran over: the
    part is retried whole once its rule is off, halved otherwise, and given up when it is
    a single event no rule can be blamed for."""
    heaviest = budget.heaviest()
    disabled = heaviest is not None and _strike(heaviest, batch)
    logger.warning(
        "batch %s [%d:%d] over the %s s correlation budget (heaviest rule %s)",
        batch.pk, low, high, budget.seconds, heaviest,
    )  # fmt: skip
    if disabled:
        forget()  # recompile without it at once (other workers follow within a second)
        if part is None:
            BatchPart.objects.get_or_create(batch=batch, start=low, end=high)
        return
    if high - low <= 1:
        note = (
            f"one event over the {budget.seconds} s budget on its own "
            f"(heaviest rule {heaviest}); given up"
        )
        if part is None:
            part = BatchPart.objects.create(batch=batch, start=low, end=high)
        part.done_at, part.note = timezone.now(), note
        part.save(update_fields=["done_at", "note"])
        return
    middle = (low + high) // 2
    if part is not None:
        part.delete()
    BatchPart.objects.bulk_create(
        [
            BatchPart(batch=batch, start=low, end=middle),
            BatchPart(batch=batch, start=middle, end=high),
        ],
        ignore_conflicts=True,
    )


def _strike(rule_id: str, batch: IngestBatch) -> bool:
    """Count one more consecutive over-budget attempt against ``rule_id`` (the others'
    runs end); at the limit, turn the rule off. Returns whether it was turned off."""
    rule_pk = uuid.UUID(rule_id)
    RuleStats.objects.get_or_create(rule_id=rule_pk)
    RuleStats.objects.exclude(rule_id=rule_pk).filter(budget_strikes__gt=0).update(budget_strikes=0)
    stats = RuleStats.objects.select_for_update().get(rule_id=rule_pk)
    stats.budget_strikes += 1
    stats.save(update_fields=["budget_strikes"])
    if stats.budget_strikes < budget_strikes():
        return False
    return rule_disable_over_budget(
        rule_id=rule_id,
        reason=(
            f"Turned off by the engine: it took the most time in {stats.budget_strikes} "
            f"consecutive correlation attempts over the {budget_seconds()} s budget "
            f"(last: ingest batch {batch.pk})."
        ),
    )


def _batch_events(batch: IngestBatch) -> Iterable[StoredEvent]:
    """The batch's stored events, read with a server-side cursor and decoded by orjson
    (Django's JSON field would decode each document with the slower json module)."""
    where = "batch_id = %s"
    params: list[Any] = [batch.pk]
    if batch.first_event_time and batch.last_event_time:
        where += " AND event_time >= %s AND event_time <= %s"  # only its partitions
        params += [batch.first_event_time, batch.last_event_time]
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            "SELECT event_id::text, event_time, source_id, normalized_data::text, raw_data "  # noqa: S608
            f"FROM events WHERE {where}",
            params,
        )
        while rows := cursor.fetchmany(2000):
            for event_id, event_time, source_id, doc, raw in rows:
                yield StoredEvent(event_id, event_time, source_id, _document(doc), raw or "")


def _document(text: str | None) -> dict[str, Any]:
    """A stored document; one orjson cannot read (an integer past a double's range, which
    PostgreSQL keeps exactly) is read by the json module instead, so it is evaluated like
    any other (a rule that cannot compare it quarantines it) instead of failing the batch."""
    if not text:
        return {}
    document: dict[str, Any]
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        document = json.loads(text)
    return document
