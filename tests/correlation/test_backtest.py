"""Backtests: the rule over stored history, through the command and the API, naming the
alert ids the live engine produces, raising nothing, reading only what may match."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from correlation.models import CorrelationRule, RuleStats
from correlation.services import batch_correlate, parse_moment
from correlation.services.backtest import BacktestError
from events.ingest import events_ingest
from events.models import IngestBatch
from events.parsers import RawRecord
from incidents.models import Alert
from socapp.models import AuditEntry
from tests.conftest import client_for
from tests.correlation.test_rule_pack import (
    SCRIPTED,
    conn,
    dns,
    failed,
    intrusions_in_one_second,
    sshd,
)
from tests.factories import SourceFactory

BRUTE_FORCE = "6121fce9-63cc-4c2e-8a21-2125ab495d71"
BREACH = "e752b8d1-7dbb-411f-bf63-25e4bb57ab27"
DOMAIN = "3651da04-2e58-4638-b8b6-af83076f6503"


@pytest.fixture
def t0() -> datetime:
    return (timezone.now() - timedelta(hours=3)).replace(second=0, microsecond=0)


def store(fmt: str, records: list, source=None):
    """Ingest without correlating (inside a test transaction nothing is sent on commit)."""
    source = source or SourceFactory(format=fmt)
    result = events_ingest(
        source=source,
        records=[RawRecord(n, r) for n, r in enumerate(records, 1)],
        transport="api",
    )
    return result.batch_id


def correlate_everything() -> None:
    for batch_id in IngestBatch.objects.filter(correlated_at__isnull=True).values_list(
        "pk", flat=True
    ):
        batch_correlate(batch_id=batch_id)


def backtest(*args: str) -> dict:
    out = StringIO()
    call_command("backtest", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def attack_history(t0: datetime) -> None:
    """A brute force that ends in a login, a dynamic-DNS lookup, and noise."""
    brute = [failed(t0 + timedelta(seconds=s)) for s in range(12)]
    login = sshd(t0 + timedelta(minutes=2), "Accepted password for root from 198.51.100.9 port 1")
    store("syslog", [*brute, login])
    store("zeek", [dns(t0, "Q1", "c2.duckdns.org"), dns(t0, "Q2", "www.example.org")])
    noise = [
        conn(t0 + timedelta(seconds=n), f"N{n}", "10.0.0.1", "10.0.0.2", 443) for n in range(40)
    ]
    store("zeek", noise)


@pytest.mark.django_db
def test_a_backtest_names_the_alerts_the_live_engine_then_raises(pack, t0):
    attack_history(t0)
    before = (Alert.objects.count(), list(RuleStats.objects.values_list("rule_id", "hits")))
    predicted = {
        sigma_id: backtest(sigma_id, "--since", "1d") for sigma_id in (BRUTE_FORCE, BREACH, DOMAIN)
    }
    # nothing was raised, stored or counted
    assert (Alert.objects.count(), list(RuleStats.objects.values_list("rule_id", "hits"))) == before
    for result in predicted.values():
        assert result["alerts_total"] == result["alerts_new"] == 1
    correlate_everything()  # now the live engine sees the same events
    for sigma_id, result in predicted.items():
        live = Alert.objects.filter(rule__sigma_id=sigma_id)
        assert [str(a.pk) for a in live] == [m["id"] for m in result["first_matches"]]


@pytest.mark.django_db
def test_a_backtest_follows_the_log_order_within_one_second(pack, t0):
    store("syslog", intrusions_in_one_second(t0, SCRIPTED))
    result = backtest(BREACH, "--since", "1d")
    assert result["alerts_total"] == len(SCRIPTED)
    correlate_everything()
    live = Alert.objects.filter(rule__sigma_id=BREACH)
    assert sorted(str(a.pk) for a in live) == sorted(m["id"] for m in result["first_matches"])


@pytest.mark.django_db
def test_after_the_live_engine_a_backtest_finds_its_alerts_existing(pack, t0):
    attack_history(t0)
    correlate_everything()
    live = Alert.objects.get(rule__sigma_id=BRUTE_FORCE)
    result = backtest(BRUTE_FORCE, "--since", "1d")
    assert (result["alerts_total"], result["alerts_existing"], result["alerts_new"]) == (1, 1, 0)
    (match,) = result["first_matches"]
    assert match["id"] == str(live.pk) and match["existing"] is True
    assert match["group_key"] == "source.ip=198.51.100.9"
    assert Alert.objects.filter(rule__sigma_id=BRUTE_FORCE).count() == 1


@pytest.mark.django_db
def test_the_pushdown_reads_only_events_the_rule_may_match(pack, t0):
    attack_history(t0)
    result = backtest(DOMAIN, "--since", "1d")
    assert result["events_in_range"] == 55
    assert result["events_read"] == 1  # the duckdns query; not example.org, not the noise
    assert result["hits"] == {"DNS query for a domain commonly abused by malware": 1}


@pytest.mark.django_db
def test_the_time_range_bounds_the_backtest(pack, t0):
    attack_history(t0)
    result = backtest(BRUTE_FORCE, "--since", "2h")  # the attack was three hours ago
    assert (result["events_in_range"], result["alerts_total"]) == (0, 0)


@pytest.mark.django_db
def test_the_readable_output_and_the_audit_trail(pack, t0):
    attack_history(t0)
    out = StringIO()
    call_command("backtest", "socapp_ssh_brute_force", "--since", "1d", stdout=out)
    text = out.getvalue()
    assert "Backtest of 'SSH brute force'" in text
    assert "would raise 1 alerts: 0 already raised by the live engine, 1 new" in text
    assert "source.ip=198.51.100.9" in text
    assert AuditEntry.objects.filter(action="rule.backtest").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args,message",
    [
        (["no-such-rule", "--since", "1d"], "no rule 'no-such-rule'"),
        ([BRUTE_FORCE, "--since", "yesterday"], "neither ISO 8601 nor a relative time"),
        ([BRUTE_FORCE, "--since", "1h", "--until", "2h"], "'until' must be after 'since'"),
    ],
)
def test_bad_arguments_are_clear_errors(pack, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("backtest", *args)


def test_moments_relative_and_absolute():
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert parse_moment("7d", now) == now - timedelta(days=7)
    assert parse_moment("24h", now) == now - timedelta(hours=24)
    assert parse_moment("30m", now) == now - timedelta(minutes=30)
    assert parse_moment("2026-11-01T00:00:00Z", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_moment("2026-11-01T00:00:00", now).tzinfo is UTC
    with pytest.raises(BacktestError):
        parse_moment("soon", now)


# -- the API (the editor's button) --------------------------------------------------


@pytest.mark.django_db
def test_the_backtest_endpoint_for_analysts_and_not_for_integrations(
    pack, t0, analyst_a, integration
):
    attack_history(t0)
    rule = CorrelationRule.objects.get(sigma_id=BRUTE_FORCE)
    url = f"/api/v1/rules/{rule.pk}/backtest/"
    response = client_for(analyst_a).post(url, {"since": "1d"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["alerts_new"] == 1 and Alert.objects.count() == 0
    assert client_for(analyst_a).post(url, {"since": "later"}, format="json").status_code == 400
    assert client_for(integration).post(url, {"since": "1d"}, format="json").status_code == 403


@pytest.mark.django_db
def test_a_rule_stored_before_a_limit_was_lowered_backtests_to_a_400(pack, analyst_a, settings):
    rule = CorrelationRule.objects.get(sigma_id=BRUTE_FORCE)
    settings.RULE_MAX_BYTES = 64  # an admin lowered it; the stored rule is now too long
    url = f"/api/v1/rules/{rule.pk}/backtest/"
    response = client_for(analyst_a).post(url, {"since": "1d"}, format="json")
    assert response.status_code == 400, response.content
    assert "the rule does not compile" in response.json()["detail"]
    assert "RULE_MAX_BYTES" in response.json()["detail"]  # and why


# -- the pushdown is a superset of the matcher ---------------------------------------


DOCS = [
    {"Image": "C:\\Windows\\System32\\cmd.exe", "EventID": 1, "Channel": "x"},
    {"Image": "C:\\WINDOWS\\system32\\CMD.EXE", "EventID": "1"},
    {"process": {"name": "sshd", "args": ["a", "-p", "50%_off"]}, "event": {"code": 4625}},
    {"process.name": "SSHD", "tags": ["Alpha", "beta"]},
    {"user": {"name": "bob"}, "count": 10},
    {"user": {"name": "alice"}, "count": 10.0, "note": "ünïcode Straße"},
    {"nothing": None},
]
DETECTIONS = [
    "sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel",
    "sel: {Image|endswith|cased: '\\cmd.exe'}\n  condition: sel",
    "sel: {EventID: 1}\n  condition: sel",
    "sel: {process.name: sshd}\n  condition: sel",
    "sel: {process.args|contains: '50%_'}\n  condition: sel",
    "sel: {tags: alpha}\n  condition: sel",
    "sel: {event.code: 4625}\n  condition: sel",
    "sel: {count: 10}\n  condition: sel",
    "sel: {user.name|startswith: [al, bo]}\n  condition: sel",
    "sel: {user.name: bob}\n  condition: not sel",
    "sel: {note|contains: 'straße'}\n  condition: sel",
    "sel: {Image|re: '(?i)cmd'}\n  filter: {EventID: 1}\n  condition: sel and not filter",
    "sel: {nothing: null}\n  condition: sel",
    "keywords: [sshd]\n  condition: keywords",
]


@pytest.mark.django_db
@pytest.mark.parametrize("detection", DETECTIONS)
def test_the_pushdown_never_drops_an_event_the_matcher_matches(reference_data, detection):
    from correlation.engine.ruleset import compile_variants
    from correlation.sigma.documents import parse_documents
    from correlation.sigma.sql import rule_condition
    from correlation.sigma.values import EventView
    from events.models import Event
    from events.partitions import EVENTS, ensure_partitions
    from events.records import EventRecord
    from events.services import events_write

    source = SourceFactory(format="json")
    at = timezone.now().replace(microsecond=0)
    records = [
        EventRecord(event_time=at, event_type="t", normalized_data=doc, raw_data=json.dumps(doc))
        for doc in DOCS
    ]
    ensure_partitions(EVENTS, [at])
    events_write(source_id=source.pk, records=records)
    text = f"title: t\nid: {uuid.uuid4()}\nlogsource: {{product: anything}}\n"
    sigma = parse_documents(f"{text}detection:\n  {detection}\n")[0].sigma
    predicate = compile_variants(sigma)[0][1]
    condition = rule_condition(sigma)
    rows = Event.objects.filter(source=source).values_list("normalized_data", "raw_data")
    matched = [doc for doc, raw in rows if predicate(EventView(doc, raw))]
    pushed = list(
        rows.extra(where=[condition.sql], params=condition.params)  # noqa: S610
    )
    assert all(any(doc == p for p, _ in pushed) for doc in matched), condition.sql
    if "not" not in detection and "re" not in detection and "null" not in detection:
        assert len(pushed) == len(matched) or "keywords" in detection, condition.sql
