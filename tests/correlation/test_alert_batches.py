"""The new alerts of a batch are written together, a chunk at a time (issue 13): one
INSERT per chunk of alerts instead of one per alert (the engine also hands a chunk over as
soon as it has one, so what a batch holds stays bounded), and every console behaviour the
same — here, a mute still closes the alerts it covers and leaves the others open (it did
not, for the engine's alerts, until their rule ids were made UUIDs in memory too)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from correlation.engine import recorder
from correlation.engine.evaluate import StoredEvent, evaluate
from correlation.engine.ruleset import active_ruleset
from correlation.services import correlate_events, rule_save
from incidents.models import Alert, AlertMute
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULE = """title: Upload seen
name: upload_seen
logsource: {product: linux, service: auth}
level: medium
detection:
  sel:
    event.action: upload
  condition: sel
"""


def uploads(source, count: int) -> list[StoredEvent]:
    return [
        StoredEvent(
            str(uuid.uuid4()),
            T0 + timedelta(seconds=n),
            source.pk,
            {
                "event": {"dataset": "system.auth", "action": "upload"},
                "source": {"ip": f"198.51.100.{n % 2 + 1}"},
            },
        )
        for n in range(count)
    ]


def alert_inserts(queries: CaptureQueriesContext) -> int:
    """Statements that write alert rows (the engine's go by COPY, a chunk at a time)."""
    return sum(
        q["sql"].startswith(('INSERT INTO "alerts"', 'COPY "alerts"'))
        for q in queries.captured_queries
    )


def test_alerts_go_in_bounded_chunks_and_mutes_still_apply(reference_data, monkeypatch):
    monkeypatch.setattr(recorder, "RAISE_CHUNK", 10)
    rule = rule_save(actor=None, definition=RULE)
    source = SourceFactory(format="syslog")
    AlertMute.objects.create(
        rule=rule,
        entities=["ip:198.51.100.2"],
        team_id=source.team_id,
        reason="the backup host uploads every night",
        expires_at=T0 + timedelta(days=3650),
    )
    with CaptureQueriesContext(connection) as queries:
        correlate_events(uploads(source, 35), active_ruleset(force=True))

    alerts = Alert.objects.filter(rule=rule)
    assert alerts.count() == 35
    assert alert_inserts(queries) == 4  # 10 + 10 + 10 + 5, never one per alert
    muted = alerts.filter(close_reason="muted")
    assert muted.count() == 17 and all("ip:198.51.100.2" in a.entities for a in muted)
    assert alerts.filter(status="open").count() == 18


def test_a_batch_never_holds_more_than_a_chunk_of_new_alerts(reference_data, monkeypatch):
    """However many alerts a batch raises, the engine holds fewer than RAISE_CHUNK of them
    unwritten between two hits (a full chunk is written at once), and writes every one."""
    monkeypatch.setattr(recorder, "RAISE_CHUNK", 10)
    rule = rule_save(actor=None, definition=RULE)
    ruleset = active_ruleset(force=True)
    evaluation = evaluate(ruleset, uploads(SourceFactory(format="syslog"), 95))
    engine = recorder.Recorder(ruleset)
    high_water = 0
    with transaction.atomic():
        for hit in evaluation.hits:
            engine.hit(hit)
            high_water = max(high_water, len(engine.queued))
        engine.finish()

    assert len(evaluation.hits) == 95
    assert high_water == 9  # 95 alerts, never more than 9 of them waiting
    assert Alert.objects.filter(rule=rule).count() == 95
