"""The hand-off between detection and case work: the one place where the engine's
alerts leave the correlation app.

Detection (this app) decides *that* an alert is raised, which hits fold into one already
raised (suppression: the mode on the rule, the decision and the query, all here), and
with what details. Case work (the incidents app, above this one) keeps the alert row,
its triage, mutes, grouping into incidents, notifications and live pushes. The incidents
app installs its ``AlertDesk`` when Django starts (``IncidentsConfig.ready``); this app
never imports it.

The desk answers three kinds of calls:

- ``raise_alerts``: new alerts, each with an id derived from its rule and events, so a
  replayed batch finds its alert instead of making a second (returns which were new);
- ``fold_hits``: further hits of a correlation that already has its alert;
- reads that the suppression query and the detection pages need from case work: the
  alert of each correlation and whether it is closed, the recent alerts of a rule, the
  ATT&CK techniques of recent alerts (each filtered to what the user may see).

``AlertDetails`` is the contract for an alert's ``details`` JSON: the alert pages and
reports read these keys, so a key is added here before the engine writes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypedDict

from django.core.exceptions import ImproperlyConfigured

from socapp.audit import AuditItem


class AlertDetails(TypedDict, total=False):
    """What the engine records about why an alert was raised (``Alert.details``)."""

    sigma_id: str | None  # the rule's Sigma id
    techniques: list[str]  # ATT&CK technique ids of the rule (T1110, T1110.001)
    event_ids: list[str]  # the events behind it, at most 100 (all are linked)
    sources: list[str]  # names of the sources those events came from
    entities: dict[str, Any]  # a detection's ECS fields an analyst pivots on
    caveats: list[str]  # what the rule could not check on this event ("parent process unknown")
    # a correlation's firing:
    correlation_type: str  # event_count, value_count, temporal, ...
    group_by: dict[str, Any]  # the group's field values
    metric: float  # the count, distinct count, sum, average or percentile reached
    condition: dict[str, float]  # Sigma's condition ({"gte": 10})
    timespan: int  # Sigma's timespan, in seconds ("5m": 300)
    window: list[str]  # [start, end], ISO 8601
    # added by case work when the alert is raised (incidents/services/asset_context.py):
    assets: list[dict[str, Any]]  # the inventory's assets it concerns, most critical first
    # an IOC match (the IOC-match rules): the indicator, where the event carried it, and
    # whether a retro-hunt found it among stored events (triggered_at: the event's time)
    indicator: dict[str, Any]  # id, type, value, feed, feed_id, confidence, score, tlp
    matched: dict[str, Any]  # field, value
    retro_hunt: bool
    severity_raised: dict[str, Any]  # from, to, by, asset, criticality, cve, reason(s)
    vulnerabilities: list[dict[str, Any]]  # open findings for the CVEs it names (vuln_context)
    # the engine's own health (rule disabled for its budget, correlation lag):
    engine_health: bool
    rule: str
    reason: str
    lag_seconds: float
    threshold_seconds: float


@dataclass(frozen=True)
class RaisedAlert:
    """An alert the engine raises; ``alert_id`` is derived, so raising it twice is one
    alert."""

    alert_id: uuid.UUID
    title: str
    level: str  # a SeverityName value
    team_id: Any
    triggered_at: datetime
    details: AlertDetails = field(default_factory=lambda: AlertDetails())
    description: str = ""
    rule_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    group_key: str = ""
    count: int = 1


@dataclass(frozen=True)
class FoldedHits:
    """``hits`` more hits of the correlation ``correlation_id``, folded into its alert.
    ``suppressed``: they are counted as suppressed; otherwise the alert is raised again
    (the "re-alert when the count rises" policy) and the queue shows it rise.
    ``sources``: the names of the sources the hits came from (the alert's ``sources``
    names each source once, however many folds brought it)."""

    correlation_id: uuid.UUID
    hits: int
    last_seen_at: datetime
    suppressed: bool = True
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertState:
    """What detection may know of an alert case work holds: its id, and whether it is
    closed (by an analyst or a mute)."""

    alert_id: uuid.UUID
    closed: bool


class AlertDesk(Protocol):
    """What case work offers detection (installed by the incidents app)."""

    def raise_alerts(self, alerts: Sequence[RaisedAlert], *, audit: list[AuditItem]) -> list[bool]:
        """Raise each alert unless it exists; returns, per alert, whether it is new.
        Audit entries go to ``audit``, written by the caller with its own."""
        ...

    def fold_hits(self, folds: Sequence[FoldedHits]) -> None: ...

    def alert_states(self, correlation_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, AlertState]:
        """The alert of each of ``correlation_ids`` that has one."""
        ...

    def recent_alerts_of_rule(self, user: Any, rule_id: Any, limit: int) -> Sequence[Any]: ...

    def recent_alert_techniques(self, user: Any, since: datetime) -> Iterable[list[str]]:
        """The rule techniques of each alert ``user`` may see, last seen since ``since``."""
        ...


_desk: AlertDesk | None = None


def install_desk(desk: AlertDesk) -> None:
    global _desk
    _desk = desk


def alert_desk() -> AlertDesk:
    if _desk is None:
        raise ImproperlyConfigured(
            "No alert desk is installed: the incidents app must be in INSTALLED_APPS."
        )
    return _desk
