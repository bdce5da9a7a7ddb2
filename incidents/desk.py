"""The incidents app's side of the hand-off from detection (``correlation.handoff``):
the engine's alerts arrive here, and the engine's questions about case work are
answered here. Installed when Django starts (``IncidentsConfig.ready``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from correlation.handoff import AlertState, FoldedHits, RaisedAlert
from socapp.audit import AuditItem

from .models import Alert
from .selectors import (
    alert_states_of_correlations,
    alert_techniques_since,
    recent_alerts_of_rule,
)
from .services import alerts_fold, alerts_raise


class CaseDesk:
    """``correlation.handoff.AlertDesk``, backed by the incidents services and
    selectors."""

    def raise_alerts(self, alerts: Sequence[RaisedAlert], *, audit: list[AuditItem]) -> list[bool]:
        return alerts_raise(alerts, audit=audit)

    def fold_hits(self, folds: Sequence[FoldedHits]) -> None:
        alerts_fold(folds)

    def alert_states(self, correlation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AlertState]:
        return alert_states_of_correlations(correlation_ids)

    def recent_alerts_of_rule(self, user: Any, rule_id: Any, limit: int) -> list[Alert]:
        return recent_alerts_of_rule(user, rule_id, limit)

    def recent_alert_techniques(self, user: Any, since: datetime) -> Iterable[list[str]]:
        return alert_techniques_since(user, since)
