"""MTTA and MTTR (incidents/kpis.py) over known sets of alerts and incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidents.choices import AlertStatus, CloseReason, IncidentStatus
from incidents.kpis import ResponseTime, mtta, mttr
from incidents.models import Alert, Incident
from tests.factories import AlertFactory, IncidentFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SINCE, UNTIL = T0 - timedelta(hours=1), T0 + timedelta(hours=1)
MIN = timedelta(minutes=1)


def _alert(team, at: datetime, **fields) -> Alert:
    return AlertFactory.create(team=team, triggered_at=at, last_seen_at=at, **fields)


def test_mtta_uses_acknowledgement_then_closing_and_skips_muted_and_unanswered(team_a):
    _alert(team_a, T0, acknowledged_at=T0 + timedelta(seconds=60))
    # Closed without an acknowledgement first: closing is the first response.
    _alert(
        team_a,
        T0,
        status=AlertStatus.CLOSED,
        close_reason=CloseReason.FALSE_POSITIVE,
        closed_at=T0 + timedelta(seconds=120),
    )
    # Acknowledged, then closed much later: the acknowledgement counts.
    _alert(
        team_a,
        T0 + timedelta(minutes=10),
        acknowledged_at=T0 + timedelta(minutes=10, seconds=300),
        status=AlertStatus.CLOSED,
        close_reason=CloseReason.RESOLVED,
        closed_at=T0 + timedelta(hours=5),
    )
    # Left out: closed by a mute (nobody looked), not answered yet, raised outside.
    _alert(
        team_a,
        T0,
        status=AlertStatus.CLOSED,
        close_reason=CloseReason.MUTED,
        closed_at=T0 + timedelta(seconds=1),
    )
    _alert(team_a, T0)
    _alert(team_a, T0 - timedelta(hours=3), acknowledged_at=T0)

    figure = mtta(Alert.objects.all(), SINCE, UNTIL)

    # 60, 120 and 300 seconds.
    assert figure == ResponseTime(mean_seconds=160.0, median_seconds=120.0, count=3)
    assert figure.as_dict() == {"mean_seconds": 160.0, "median_seconds": 120.0, "count": 3}


def test_mtta_is_over_the_alerts_it_is_given(team_a, team_b):
    _alert(team_a, T0, acknowledged_at=T0 + timedelta(seconds=10))
    _alert(team_b, T0, acknowledged_at=T0 + timedelta(seconds=1000))

    assert mtta(Alert.objects.filter(team=team_a), SINCE, UNTIL).mean_seconds == 10.0
    assert mtta(Alert.objects.all(), SINCE, UNTIL).median_seconds == 505.0


def _incident(team, created: datetime, resolved: datetime | None) -> Incident:
    status = IncidentStatus.CLOSED if resolved else IncidentStatus.TRIAGE
    incident = IncidentFactory.create(team=team, status=status, resolved_at=resolved)
    # created_at is auto_now_add: set the known value afterwards.
    Incident.objects.filter(pk=incident.pk).update(created_at=created)
    return incident


def test_mttr_over_incidents_resolved_in_the_period(team_a):
    for took, resolved in ((600, T0), (1800, T0 + timedelta(minutes=5)), (7200, T0 - MIN)):
        _incident(team_a, resolved - timedelta(seconds=took), resolved)
    # Left out: still open, and resolved before the period (however quickly).
    _incident(team_a, T0 - timedelta(hours=9), None)
    _incident(team_a, T0 - timedelta(hours=2, seconds=5), T0 - timedelta(hours=2))

    figure = mttr(Incident.objects.all(), SINCE, UNTIL)

    # 600, 1800 and 7200 seconds.
    assert figure == ResponseTime(mean_seconds=3200.0, median_seconds=1800.0, count=3)


def test_nothing_to_measure_is_none_not_zero(team_a):
    _alert(team_a, T0)
    _incident(team_a, T0, None)

    assert mtta(Alert.objects.all(), SINCE, UNTIL).as_dict() == {
        "mean_seconds": None,
        "median_seconds": None,
        "count": 0,
    }
    assert mttr(Incident.objects.all(), SINCE, UNTIL) == ResponseTime(None, None, 0)
