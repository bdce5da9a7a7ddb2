"""The engine never stalls on one batch, one rule or one event: a poison event is set
aside with the rule and the error while the rest alerts; a batch over the time budget is
split and finished in parts; a rule that keeps eating the budget is turned off with the
reason, an audit entry and an alert for the admins; lag past its setting alerts once."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from correlation.engine.evaluate import StoredEvent
from correlation.engine.ruleset import active_ruleset
from correlation.models import BatchPart, CorrelationRule, RuleQuarantine, RuleStats
from correlation.services import batch_correlate, correlate_events, rule_save
from correlation.services.health import LAG_EPISODE_KEY
from correlation.tasks import check_lag
from events.ingest import events_ingest
from events.models import IngestBatch
from events.parsers import RawRecord
from incidents.models import Alert
from socapp.kv import kv
from socapp.models import AuditEntry
from tests.conftest import client_for
from tests.factories import SourceFactory

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def page_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


AUTH = "{product: linux, service: auth}"
SSHD = "{product: linux, service: sshd}"


def detection(name: str, detection_yaml: str, logsource: str = AUTH) -> CorrelationRule:
    return rule_save(
        actor=None,
        definition=(
            f"title: {name}\nname: {name}\nlogsource: {logsource}\nlevel: medium\n"
            f"detection:\n{detection_yaml}"
        ),
    )


def auth_event(source, seconds: float, **fields) -> StoredEvent:
    doc = {"event": {"dataset": "system.auth", "action": "upload"}, **fields}
    return StoredEvent(str(uuid.uuid4()), T0 + timedelta(seconds=seconds), source.pk, doc)


# ---- poison events ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_poison_event_is_quarantined_with_the_rule_and_the_error(reference_data, soc_admin):
    source = SourceFactory(format="syslog")
    big = detection("big_upload", "  sel:\n    bytes|gt: 5\n  condition: sel\n")
    every = detection("every_upload", "  sel:\n    event.action: upload\n  condition: sel\n")
    good = [auth_event(source, s, bytes=10) for s in (0, 1)]
    # an integer past a double's range: comparing it to 5 raises inside the rule
    poison = auth_event(source, 2, bytes=10**400)
    correlate_events([good[0], poison, good[1]], active_ruleset(force=True))

    assert Alert.objects.filter(rule=big).count() == 2  # the good events still alert
    assert Alert.objects.filter(rule=every).count() == 3  # the other rule saw all three
    (held,) = RuleQuarantine.objects.filter(rule=big)
    assert str(held.event_id) == poison.event_id and "OverflowError" in held.error
    assert not RuleQuarantine.objects.filter(rule=every).exists()
    stats = RuleStats.objects.get(rule=big)
    assert (stats.quarantined, stats.errors, stats.hits) == (1, 1, 2)

    page = page_client(soc_admin).get(f"/rules/{big.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert poison.event_id in body and "OverflowError" in body


@pytest.mark.django_db
def test_quarantined_event_ids_are_for_rule_managers_only(reference_data, analyst_a):
    source = SourceFactory(format="syslog")
    big = detection("big_upload", "  sel:\n    bytes|gt: 5\n  condition: sel\n")
    poison = auth_event(source, 2, bytes=10**400)
    correlate_events([poison], active_ruleset(force=True))
    body = page_client(analyst_a).get(f"/rules/{big.pk}/").content.decode()
    assert 'id="quarantined">1<' in body  # the count, for everyone who sees the rule
    assert poison.event_id not in body  # another team's event id is not


@pytest.mark.django_db
def test_replaying_a_poison_event_quarantines_it_once(reference_data):
    source = SourceFactory(format="syslog")
    big = detection("big_upload", "  sel:\n    bytes|gt: 5\n  condition: sel\n")
    poison = auth_event(source, 2, bytes=10**400)
    for _ in range(2):
        correlate_events([poison], active_ruleset(force=True))
    assert RuleQuarantine.objects.filter(rule=big).count() == 1


@pytest.mark.django_db
def test_a_stored_number_past_a_double_does_not_fail_its_batch(reference_data):
    from django.db import connection

    big = detection(
        "big_upload",
        "  sel:\n    bytes|gt: 5\n  condition: sel\n",
        logsource="{product: socapp_test}",
    )
    every = detection(
        "every_event", "  sel:\n    tag: probe\n  condition: sel\n", "{product: socapp_test}"
    )
    source = SourceFactory(format="json")
    lines = [
        f'{{"event": {{"module": "socapp_test"}}, "tag": "probe", "bytes": {n}}}' for n in (7, 8)
    ]
    result = events_ingest(
        source=source,
        records=[RawRecord(n, line) for n, line in enumerate(lines, 1)],
        transport="api",
    )
    IngestBatch.objects.filter(pk=result.batch_id).update(correlated_at=None)
    Alert.objects.all().delete()
    # PostgreSQL keeps a 400-digit number exactly (what a JSON source may well send)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events SET normalized_data = jsonb_set(normalized_data, '{bytes}', "
            "('1' || repeat('0', 400))::jsonb) WHERE batch_id = %s AND "
            "normalized_data->>'bytes' = '8'",
            [result.batch_id],
        )
    batch_correlate(batch_id=result.batch_id)
    assert IngestBatch.objects.get(pk=result.batch_id).correlated_at is not None
    assert Alert.objects.filter(rule=every).count() == 2
    assert Alert.objects.filter(rule=big).count() == 1
    assert RuleQuarantine.objects.filter(rule=big, batch_id=result.batch_id).count() == 1


# ---- the time budget ------------------------------------------------------------------

HEAVY_VALUES = 5000  # regular expressions a heavy rule tries on every event's message


def heavy_rule() -> CorrelationRule:
    """A rule that tries 5,000 regular expressions on every event's message (the prefilter
    can require nothing of a regex, so each one runs): a fraction of a second an event
    with a long message here, where the other rules take microseconds."""
    words = "".join(f"      - '[a-z]+-{n:05d}-{uuid.uuid4().hex}'\n" for n in range(HEAVY_VALUES))
    return detection("heavy_rule", f"  sel:\n    message|re:\n{words}  condition: sel\n", SSHD)


def failures_batch(source, count: int, ip: str = "198.51.100.9") -> str:
    """``count`` failed SSH logons from one address, one a second, each with an 8 KB key
    signature in its message, committed but not yet correlated."""
    start = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    lines = [
        f"<38>1 {(start + timedelta(seconds=n)).isoformat()} srv1 sshd 1 - - "
        f"Failed publickey for root from {ip} port 4242 ssh2: RSA SHA256:{'Q' * 8192}"
        for n in range(count)
    ]
    result = events_ingest(
        source=source,
        records=[RawRecord(n, line) for n, line in enumerate(lines, 1)],
        transport="api",
    )
    IngestBatch.objects.filter(pk=result.batch_id).update(correlated_at=None)
    return str(result.batch_id)


@pytest.mark.django_db
def test_a_batch_over_budget_is_split_and_a_rule_eating_the_budget_is_turned_off(
    reference_data, soc_admin, settings
):
    settings.CORRELATION_BATCH_BUDGET_SECONDS = 3.0
    settings.CORRELATION_BUDGET_STRIKES = 2
    source = SourceFactory(format="syslog")
    batch_id = failures_batch(source, 240)  # stored before the rules: nothing evaluated yet
    heavy = heavy_rule()
    detection(
        "failed_ssh",
        "  sel:\n    event.action: ssh_login\n    event.outcome: failure\n  condition: sel\n",
        logsource=SSHD,
    )
    brute_force = rule_save(
        actor=None,
        definition=(
            "title: brute\nname: brute\nlevel: high\ncorrelation:\n  type: event_count\n"
            "  rules: [failed_ssh]\n  group-by: [source.ip]\n  timespan: 10m\n"
            "  condition: {gte: 10}\n"
        ),
    )
    attempts = 0
    while IngestBatch.objects.get(pk=batch_id).correlated_at is None:
        attempts += 1
        assert attempts <= 20, list(BatchPart.objects.values_list("start", "end", "done_at"))
        batch_correlate(batch_id=batch_id)  # what the re-sent task does

    heavy.refresh_from_db()
    assert not heavy.is_active
    assert "2 consecutive correlation attempts over the 3.0 s budget" in heavy.disabled_reason
    # every event was correlated once, in parts, in order, by the rules that stayed on:
    # four minutes of failures: one brute-force window holding every one of them
    (alert,) = Alert.objects.filter(rule=brute_force)
    assert alert.count == 240 and alert.correlation.event_links.count() == 240
    assert RuleStats.objects.get(rule__name="failed_ssh").hits == 240
    parts = list(BatchPart.objects.filter(batch_id=batch_id).order_by("start"))
    assert len(parts) > 1 and all(p.done_at for p in parts)
    assert parts[0].start == 0 and parts[-1].end == 240
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    # the admins are told: an audit entry by the system, an alert, the health page
    entry = AuditEntry.objects.get(action="rule.disable", object_id=str(heavy.pk))
    assert entry.actor is None and "budget" in entry.changes["reason"]
    (notice,) = Alert.objects.filter(rule=heavy)
    assert notice.title.startswith("Rule turned off for exceeding the correlation budget")
    listed = client_for(soc_admin).get("/api/v1/alerts/", {"page_size": 1000}).json()
    assert str(notice.pk) in {a["id"] for a in listed["results"]}
    page = page_client(soc_admin).get(f"/rules/{heavy.pk}/").content.decode()
    assert 'id="disabled-reason"' in page and "consecutive correlation attempts" in page


@pytest.mark.django_db
def test_enabling_a_rule_again_clears_the_engines_reason(reference_data, soc_admin):
    from correlation.services import rule_disable_over_budget, rule_set_active

    rule = detection("any", "  sel:\n    event.action: x\n  condition: sel\n")
    assert rule_disable_over_budget(rule_id=str(rule.pk), reason="too slow")
    rule.refresh_from_db()
    assert (rule.is_active, rule.disabled_reason) == (False, "too slow")
    rule_set_active(rule=rule, actor=soc_admin, active=True)
    rule.refresh_from_db()
    assert (rule.is_active, rule.disabled_reason) == (True, "")


# ---- lag ------------------------------------------------------------------------------


@pytest.fixture
def no_lag_episode():
    kv().delete(LAG_EPISODE_KEY)
    yield
    kv().delete(LAG_EPISODE_KEY)


def waiting_batch(minutes: int) -> IngestBatch:
    source = SourceFactory.create(format="syslog")
    line = (
        "<38>1 2026-03-01T12:00:00Z srv1 sshd 1 - - "
        "Failed password for root from 198.51.100.9 port 1 ssh2"
    )
    result = events_ingest(source=source, records=[RawRecord(1, line)], transport="api")
    IngestBatch.objects.filter(pk=result.batch_id).update(
        correlated_at=None, committed_at=timezone.now() - timedelta(minutes=minutes)
    )
    return IngestBatch.objects.get(pk=result.batch_id)


def lag_alerts() -> list[Alert]:
    return list(Alert.objects.filter(title="Correlation is falling behind"))


@pytest.mark.django_db
def test_lag_past_its_setting_alerts_once_per_episode(
    reference_data, settings, soc_admin, no_lag_episode
):
    settings.CORRELATION_LAG_ALERT_SECONDS = 600
    fresh = waiting_batch(minutes=2)
    assert check_lag() is False and lag_alerts() == []  # 2 minutes behind: fine
    stale = waiting_batch(minutes=20)
    assert check_lag() is True
    assert check_lag() is False  # the same episode: no second alert
    (alert,) = lag_alerts()
    assert alert.details["lag_seconds"] >= 1200 and alert.rule is None
    listed = client_for(soc_admin).get("/api/v1/alerts/", {"page_size": 1000}).json()
    assert str(alert.pk) in {a["id"] for a in listed["results"]}

    IngestBatch.objects.filter(pk__in=[fresh.pk, stale.pk]).update(correlated_at=timezone.now())
    assert check_lag() is False  # caught up: the episode ends
    waiting_batch(minutes=30)
    assert check_lag() is True  # a new episode, a new alert
    assert len(lag_alerts()) == 2
