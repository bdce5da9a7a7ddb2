"""Upgrading a filled database across issue 12's move of suppression into the correlation
app (correlation 0004, incidents 0007): alerts, incidents, mutes, notification rules and
comments keep every row and relation, and each correlation learns its alert's key and
time, so suppression goes on folding into the alerts raised before the upgrade."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from correlation.choices import SuppressionMode
from correlation.engine.suppression import fold_target

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("correlation", "0003_rule_budget_disable_quarantine_and_batch_parts"),
          ("incidents", "0006_alert_time_indexes")]  # fmt: skip


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate the test database to ``targets``; the historical apps at that point."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def fill_at_previous_schema(apps: Any) -> dict[str, Any]:
    """A small SOC as the previous schema held it."""
    model = apps.get_model
    now = timezone.now()
    team = model("socapp", "Team").objects.create(name="Team A")
    user = model("auth", "User").objects.create(username="manager")
    high = model("incidents", "Severity").objects.create(name="high", level=4, color_code="#e0a000")
    rule = model("correlation", "CorrelationRule").objects.create(
        name="SSH brute force",
        definition="title: x",
        suppression_mode=SuppressionMode.UNTIL_CLOSED,
        suppress_by=["source.ip"],
    )
    incident = model("incidents", "Incident").objects.create(
        number="INC-2026-0001", title="Brute force", team=team, assigned_to=user
    )
    alerts = []
    for n, (status, in_case) in enumerate(
        [("open", False), ("closed", False), ("in_progress", True)]
    ):
        at = now - timedelta(hours=3 - n)
        correlation = model("correlation", "Correlation").objects.create(
            id=uuid.uuid4(), name=rule.name, rule=rule, start_time=at, end_time=at, event_count=3
        )
        alerts.append(
            model("incidents", "Alert").objects.create(
                correlation=correlation,
                rule=rule,
                severity=high,
                title=rule.name,
                status=status,
                details={"event_ids": [str(uuid.uuid4())]},
                team=team,
                assignee=user,
                incident=incident if in_case else None,
                group_key=f"source.ip=198.51.100.{n}",
                triggered_at=at,
                last_seen_at=at,
                count=3,
            )
        )
    model("incidents", "AlertComment").objects.create(alert=alerts[0], author=user, body="seen")
    mute = model("incidents", "AlertMute").objects.create(
        rule=rule, entities=["ip:198.51.100.9"], team=team, reason="scanner",
        expires_at=now + timedelta(days=1), created_by=user,
    )  # fmt: skip
    connector = model("incidents", "Connector").objects.create(name="chat", kind="webhook")
    notify = model("incidents", "NotificationRule").objects.create(
        name="high alerts", topics=["alert_raised"], connector=connector
    )
    notify.teams.add(team)
    notify.rules.add(rule)
    return {"rule": rule, "alerts": alerts, "mute": mute, "notify": notify, "incident": incident}


def snapshot(apps: Any) -> dict[str, Any]:
    """Every row of the tables the upgrade must not disturb, with its relations."""
    model = apps.get_model
    alert_fields = ["id", "correlation_id", "rule_id", "severity_id", "team_id", "assignee_id",
                    "incident_id", "muted_by_id", "status", "group_key", "triggered_at", "count",
                    "details"]  # fmt: skip
    notify = model("incidents", "NotificationRule").objects.values(
        "id", "connector_id", "rules", "teams"
    )
    correlations = model("correlation", "Correlation").objects.order_by("id")
    return {
        "alerts": list(model("incidents", "Alert").objects.order_by("id").values(*alert_fields)),
        "incidents": list(model("incidents", "Incident").objects.values("id", "team_id")),
        "comments": list(model("incidents", "AlertComment").objects.values("alert_id", "body")),
        "mutes": list(model("incidents", "AlertMute").objects.values("id", "rule_id", "team_id")),
        "notify": list(notify),
        "correlations": list(correlations.values("id", "rule_id", "event_count")),
    }


def test_a_filled_database_upgrades_with_every_row_and_relation_intact() -> None:
    head = latest()
    try:
        old = migrate(BEFORE)
        filled = fill_at_previous_schema(old)
        before = snapshot(old)

        new = migrate(head)
        assert snapshot(new) == before
        correlations = new.get_model("correlation", "Correlation").objects
        for alert in filled["alerts"]:
            correlation = correlations.get(pk=alert.correlation_id)
            assert (correlation.group_key, correlation.raised_at) == (
                alert.group_key,
                alert.triggered_at,
            )

        # suppression, now reading correlations, folds into the open alert raised before
        rule, (open_alert, closed_alert, _) = filled["rule"], filled["alerts"]
        for alert, expected in ((open_alert, open_alert.pk), (closed_alert, None)):
            target = fold_target(
                rule_id=str(rule.pk),
                group_key=alert.group_key,
                mode=SuppressionMode.UNTIL_CLOSED,
                at=timezone.now(),
                window_seconds=3600,
            )
            assert (target.alert_id if target else None) == expected
    finally:
        migrate(head)
