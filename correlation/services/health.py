"""The engine's own health: rules it turns off for eating the time budget, and the alert
when correlation falls behind. Both raise an alert for SOC admins (the default team's
queue, high severity) through the hand-off to case work, with an audit entry by the
system."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from intel.selectors import active_indicator_count
from socapp.audit import AuditItem, audit_record, audit_record_many
from socapp.kv import kv
from socapp.selectors import default_team_id

from ..choices import SeverityName
from ..engine.ruleset import bump_generation
from ..handoff import AlertDetails, RaisedAlert, alert_desk
from ..metrics import correlation_lag_seconds
from ..models import CorrelationRule

logger = logging.getLogger(__name__)

SYSTEM_NS = uuid.UUID("d2a7f3c4-6b1e-4f0a-9c55-2e8b7a4d1f60")
LAG_EPISODE_KEY = "socapp:corr:lag-episode"  # set while an episode of lag is alerted
CAP_EPISODE_KEY = "socapp:intel:cap-episode"  # set while too many indicators is alerted


def lag_alert_seconds() -> float:
    return float(getattr(settings, "CORRELATION_LAG_ALERT_SECONDS", 900))


def _system_alert(
    *,
    identity: str,
    title: str,
    description: str,
    group_key: str,
    details: AlertDetails,
    at: datetime,
    rule: CorrelationRule | None = None,
) -> None:
    audit: list[AuditItem] = []
    alert = RaisedAlert(
        alert_id=uuid.uuid5(SYSTEM_NS, identity),
        title=title,
        level=SeverityName.HIGH,
        team_id=default_team_id(),
        triggered_at=at,
        details=AlertDetails(engine_health=True, **details),
        description=description,
        rule_id=rule.pk if rule else None,
        group_key=group_key,
    )
    alert_desk().raise_alerts([alert], audit=audit)
    audit_record_many(actor=None, items=audit)


def rule_disable_over_budget(*, rule_id: str, reason: str) -> bool:
    """Turn a rule off because it keeps running batches over the time budget: the reason
    is kept on the rule (its health page shows it), audited as the system's change, and
    raised as an alert for the admins. Returns whether the rule is off now."""
    with transaction.atomic():
        rule = CorrelationRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            return False
        if not rule.is_active:
            return True
        now = timezone.now()
        rule.is_active = False
        rule.disabled_reason = reason
        rule.save(update_fields=["is_active", "disabled_reason", "updated_at"])
        audit_record(
            actor=None,
            action="rule.disable",
            target=rule,
            changes={"active": False, "reason": reason},
        )
        _system_alert(
            identity=f"rule-over-budget:{rule.pk}:{now.isoformat()}",
            title=f"Rule turned off for exceeding the correlation budget: {rule.name}",
            description=reason,
            group_key=f"rule={rule.name}",
            details=AlertDetails(rule=rule.name, reason=reason),
            at=now,
            rule=rule,
        )
        transaction.on_commit(bump_generation)
    logger.warning("rule %s (%s) turned off: %s", rule.name, rule.pk, reason)
    return True


def _once_per_episode(
    key: str, ongoing: bool, now: datetime | None, alert: Callable[[datetime], None]
) -> bool:
    """Call ``alert`` when an episode (of lag, of too many indicators) starts; the episode
    ends, and may alert again, once ``ongoing`` is false. Returns whether it alerted."""
    redis = kv()
    if not ongoing:
        redis.delete(key)
        return False
    if redis.exists(key):
        return False  # this episode was alerted already
    now = now or timezone.now()
    with transaction.atomic():
        alert(now)
    redis.set(key, now.isoformat())
    return True


def check_correlation_lag(*, now: datetime | None = None) -> bool:
    """Raise one alert per episode of correlation lag above
    ``CORRELATION_LAG_ALERT_SECONDS`` (the age of the oldest committed batch not yet
    correlated); the episode ends when the lag is back under it. Returns whether an alert
    was raised."""
    threshold = lag_alert_seconds()
    if threshold <= 0:
        return False
    lag = correlation_lag_seconds()

    def alert(at: datetime) -> None:
        _system_alert(
            identity=f"correlation-lag:{at.isoformat()}",
            title="Correlation is falling behind",
            description=(
                f"The oldest committed batch has waited {lag:.0f} s for correlation "
                f"(alert threshold {threshold:g} s): detections are late. See the worker "
                "logs and the rules' health pages (time spent, budget)."
            ),
            group_key="correlation lag",
            details=AlertDetails(lag_seconds=round(lag, 1), threshold_seconds=threshold),
            at=at,
        )

    return _once_per_episode(LAG_EPISODE_KEY, lag > threshold, now, alert)


def check_indicator_cap(*, now: datetime | None = None) -> bool:
    """Raise one alert per episode of more active indicators than the matching index
    loads (INTEL_MATCH_MAX_INDICATORS: the least confident are then not matched)."""
    cap = int(settings.INTEL_MATCH_MAX_INDICATORS)
    count = active_indicator_count()

    def alert(at: datetime) -> None:
        _system_alert(
            identity=f"indicator-cap:{at.isoformat()}",
            title="More active indicators than matching loads",
            description=(
                f"{count:,} indicators are active; each ingest process loads the "
                f"{cap:,} most confident (INTEL_MATCH_MAX_INDICATORS). Retire stale feeds, "
                "or raise the setting if the ingest processes have the memory."
            ),
            group_key="indicator cap",
            details=AlertDetails(reason=f"{count} active indicators, cap {cap}"),
            at=at,
        )

    return _once_per_episode(CAP_EPISODE_KEY, count > cap, now, alert)
