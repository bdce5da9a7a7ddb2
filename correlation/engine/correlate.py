"""Running the engine over committed events: match, feed the correlation windows, raise
and fold alerts, keep each rule's statistics (the entry points of the engine)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import transaction

from intel.lifecycle import record_seen
from socapp.audit import audit_record_many

from .evaluate import Budget, Evaluation, StoredEvent, evaluate
from .recorder import Raised, Recorder
from .ruleset import RuleSet, active_ruleset
from .stats import quarantine, save_stats
from .windows.deferred import deferred_writes

logger = logging.getLogger(__name__)


def correlate_events(
    events: list[StoredEvent],
    ruleset: RuleSet,
    *,
    raised: Raised | None = None,
    close_all: bool = False,
    dry: bool = False,
    budget: Budget | None = None,
    batch_id: Any = None,
) -> Evaluation:
    """Match ``events``, feed correlation windows, raise and fold alerts, keep stats.

    ``raised`` collects every alert raised or folded into (a backtest reads them before
    rolling back); ``close_all`` decides every open window now, whatever the clock says
    (the end of a backtest). ``dry``: a run that will be rolled back (a backtest) takes
    none of the locks live workers share — the audit chain's, the rule statistics rows,
    the suppression keys — and writes neither. ``budget``: raises OverBudget once spent
    (between two events, or two hits); the caller rolls back and splits. A rule that
    raises on an event (matching it, feeding its windows) has the event quarantined with
    the error; the rest goes on."""
    started = time.perf_counter()
    # Event-time order (ties by id, the order windows keep): lateness is measured against
    # the newest hit of a key, so a batch spanning more than the allowed lateness must not
    # be fed newest first, and in-order hits are the cheap ones to decide.
    events = sorted(events, key=lambda e: (e.event_time, e.event_id))
    budget = budget if budget is not None else Budget()
    evaluation = evaluate(ruleset, events, budget)
    recorder = Recorder(ruleset, raised, dry=dry, budget=budget)
    with deferred_writes():  # a hit's last write goes with the next hit's read
        for hit in evaluation.hits:
            recorder.hit(hit)
            budget.check()
    recorder.finish(float("inf") if close_all else None)
    recorder.counts.poisoned[:0] = evaluation.errors
    if not dry:
        audit_record_many(actor=None, items=recorder.audit)
        save_stats(evaluation, recorder.counts)
        quarantine(recorder.counts.poisoned, batch_id)
        if recorder.ioc_seen:
            record_seen(seen=recorder.ioc_seen, alerts=recorder.ioc_alerts)
    logger.debug(
        "%d events, %d hits in %.3fs",
        len(events),
        len(evaluation.hits),
        time.perf_counter() - started,
    )
    return evaluation


def close_windows() -> int:
    """Decide the correlation windows whose time is up (the periodic task)."""
    recorder = Recorder(active_ruleset())
    with transaction.atomic():
        count = recorder.finish()
        audit_record_many(actor=None, items=recorder.audit)
        save_stats(Evaluation(), recorder.counts)
    return count
