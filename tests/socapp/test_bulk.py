"""``copy_insert`` writes model instances with COPY (the engine's alerts, correlations and
audit entries): what it stores reads back exactly as what Django's own INSERT stores —
JSON documents, arrays, choices, foreign keys, automatic timestamps — and the instances
behave as saved ones afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from incidents.choices import AlertStatus
from incidents.models import Alert
from socapp.bulk import copy_insert
from tests.factories import TeamFactory, severity

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def alert(title: str, team) -> Alert:
    return Alert(
        title=title,
        severity=severity("high"),
        team=team,
        status=AlertStatus.OPEN,
        details={"sources": ["fw"], "nested": {"n": 1, "quote": 'a "b" \\ c\n'}},
        entities=["ip:198.51.100.7", "user:ädmin"],
        group_key="source.ip=198.51.100.7",
        triggered_at=AT,
        last_seen_at=AT,
    )


def stored(pk) -> dict:
    """Every column but the id and the two timestamps of the moment of writing."""
    row = Alert.objects.filter(pk=pk).values().get()
    moment = ("id", "created_at", "updated_at")
    return {column: value for column, value in row.items() if column not in moment}


def test_copied_rows_read_back_as_inserted_ones(reference_data):
    team = TeamFactory()
    by_insert, by_copy = alert("by insert", team), alert("by copy", team)
    Alert.objects.bulk_create([by_insert])
    copy_insert([by_copy])

    assert stored(by_copy.pk) == {**stored(by_insert.pk), "title": "by copy"}
    saved = Alert.objects.get(pk=by_copy.pk)
    assert saved.created_at is not None and saved.updated_at is not None

    by_copy.status = AlertStatus.CLOSED  # a saved instance: save() updates the row
    by_copy.save(update_fields=["status"])
    assert Alert.objects.get(pk=by_copy.pk).status == AlertStatus.CLOSED
    assert Alert.objects.count() == 2
