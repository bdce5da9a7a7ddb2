"""The events table as the seed designs it: partitioned by time, maintained by beat."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from correlation.models import CorrelationEvent
from events.models import Event, EventAttribute
from events.partitions import (
    EVENT_ATTRIBUTES,
    EVENTS,
    create_partitions_ahead,
    drop_expired_partitions,
    ensure_partitions,
    interval_range,
    list_partitions,
)
from events.services import events_store
from events.tasks import maintain_event_partitions
from incidents.models import Alert
from tests.factories import AlertFactory, CorrelationFactory, SourceFactory, event_record


def partition_of(event_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM events WHERE event_id = %s", [event_id]
        )
        return cursor.fetchone()[0]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(1999, 5, 3, 12), "events_p19990501"),
        (utc(2024, 2, 29, 23, 59, 59, 999999), "events_p20240201"),
        (utc(2026, 11, 30, 23, 59, 59, 999999), "events_p20261101"),
        (utc(2026, 12, 1), "events_p20261201"),
        (utc(2031, 12, 31, 23, 59), "events_p20311201"),
    ],
)
def test_an_event_of_any_date_lands_in_its_months_partition(moment, expected):
    source = SourceFactory()
    [event_id] = events_store(source=source, records=[event_record(moment)])
    assert partition_of(event_id) == expected
    stored = Event.objects.get(pk=event_id)
    assert stored.event_time == moment


@pytest.mark.django_db
def test_a_zone_offset_is_resolved_to_utc_before_choosing_the_partition():
    # 00:30 on 1 December in UTC+02:00 is still 30 November in UTC.
    moment = datetime.fromisoformat("2026-12-01T00:30:00+02:00")
    [event_id] = events_store(source=SourceFactory(), records=[event_record(moment)])
    assert partition_of(event_id) == "events_p20261101"


@pytest.mark.django_db
def test_one_batch_spanning_months_fills_each_partition():
    times = [utc(2030, 1, 31, 23, 59), utc(2030, 2, 1, 0, 0), utc(2030, 3, 15)]
    ids = events_store(source=SourceFactory(), records=[event_record(t) for t in times])
    assert sorted(partition_of(i) for i in ids) == [
        "events_p20300101",
        "events_p20300201",
        "events_p20300301",
    ]


@pytest.mark.django_db
def test_event_attributes_are_partitioned_like_their_events():
    record = event_record(utc(2029, 7, 4, 8), attributes={"ssh.client": ("OpenSSH_9.6", "string")})
    [event_id] = events_store(source=SourceFactory(), records=[record])
    attribute = EventAttribute.objects.get(event_id=event_id)
    assert attribute.value == "OpenSSH_9.6"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM event_attributes WHERE event_id = %s", [event_id]
        )
        assert cursor.fetchone()[0] == "event_attributes_p20290701"


@pytest.mark.django_db
def test_next_months_partition_exists_before_next_month_starts(settings):
    settings.EVENTS_PARTITION_INTERVAL = "month"
    settings.EVENTS_PARTITION_PREMAKE = 2
    mid_month = utc(2032, 6, 15, 10)
    create_partitions_ahead(now=mid_month)
    starts = {p.start for p in list_partitions(EVENTS)}
    assert {utc(2032, 6, 1), utc(2032, 7, 1), utc(2032, 8, 1)} <= starts
    assert utc(2032, 7, 1) in {p.start for p in list_partitions(EVENT_ATTRIBUTES)}


@pytest.mark.django_db
def test_the_beat_task_prepares_the_coming_partitions(settings):
    settings.EVENTS_PARTITION_PREMAKE = 1
    maintain_event_partitions.delay()  # eager in unit tests; a real worker runs it in test_worker
    now = datetime.now(tz=UTC)
    next_start = interval_range(now, "month")[1]
    assert any(p.covers(next_start) for p in list_partitions(EVENTS))


# Partitions outlive a test's transaction (their DDL commits on its own connection), so
# every test here works in a time range of its own.
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("interval", "days", "moment"),
    [("day", 1, utc(2033, 3, 9, 13)), ("week", 7, utc(2033, 5, 11, 13))],  # Wednesdays
)
def test_interval_is_a_setting(settings, interval, days, moment):
    settings.EVENTS_PARTITION_INTERVAL = interval
    [event_id] = events_store(source=SourceFactory(), records=[event_record(moment)])
    part = next(p for p in list_partitions(EVENTS) if p.covers(moment))
    assert part.end - part.start == timedelta(days=days)
    assert part.start.weekday() == 0 or interval == "day"  # weeks start on Monday
    assert partition_of(event_id) == part.name


@pytest.mark.django_db
def test_changing_the_interval_fills_gaps_without_overlapping(settings):
    settings.EVENTS_PARTITION_INTERVAL = "month"
    ensure_partitions(EVENTS, [utc(2034, 5, 10)])
    settings.EVENTS_PARTITION_INTERVAL = "week"
    # The week of 29 May - 4 June 2034 straddles the existing May partition.
    created = ensure_partitions(EVENTS, [utc(2034, 6, 2)])
    assert created == ["events_p20340601"]
    june = next(p for p in list_partitions(EVENTS) if p.name == "events_p20340601")
    assert (june.start, june.end) == (utc(2034, 6, 1), utc(2034, 6, 5))


@pytest.mark.django_db(transaction=True)
def test_retention_drops_whole_old_partitions_and_keeps_alerts(reference_data, settings):
    settings.EVENTS_RETENTION_DAYS = 90
    now = datetime.now(tz=UTC)
    source = SourceFactory()
    old = [event_record(utc(2020, 3, 5, h), attributes={"k": ("v", "string")}) for h in range(3)]
    recent = [event_record(now - timedelta(hours=1))]
    old_ids = events_store(source=source, records=old)
    recent_ids = events_store(source=source, records=recent)
    correlation = CorrelationFactory()
    CorrelationEvent.objects.bulk_create(
        CorrelationEvent(correlation=correlation, event_id=r.event_id, event_time=r.event_time)
        for r in old
    )
    alert = AlertFactory(correlation=correlation, details={"source.ip": "192.0.2.10"})

    dropped = drop_expired_partitions()

    assert "events_p20200301" in dropped
    assert "event_attributes_p20200301" in dropped
    assert not Event.objects.filter(pk__in=old_ids).exists()
    assert Event.objects.filter(pk__in=recent_ids).count() == 1
    assert "events_p20200301" not in {p.name for p in list_partitions(EVENTS)}
    # What referred to the dropped events is untouched.
    kept = Alert.objects.get(pk=alert.pk)
    assert kept.correlation_id == correlation.pk
    assert kept.details == {"source.ip": "192.0.2.10"}
    assert CorrelationEvent.objects.filter(correlation=correlation).count() == 3
    # The current month is never dropped.
    assert any(p.covers(now) for p in list_partitions(EVENTS))


@pytest.mark.django_db(transaction=True)
def test_retention_zero_keeps_everything(settings):
    settings.EVENTS_RETENTION_DAYS = 0
    events_store(source=SourceFactory(), records=[event_record(utc(2019, 1, 1))])
    assert drop_expired_partitions() == []
    assert "events_p20190101" in {p.name for p in list_partitions(EVENTS)}


@pytest.mark.django_db(transaction=True)
def test_bulk_update_keeps_updated_at_true():
    source = SourceFactory()
    ids = events_store(source=source, records=[event_record(utc(2028, 1, 2, h)) for h in range(5)])
    before = {e.pk: e.updated_at for e in Event.objects.filter(pk__in=ids)}
    time.sleep(0.05)
    changed = Event.objects.filter(pk__in=ids[:3]).update(protocol="udp")
    assert changed == 3
    after = {e.pk: e for e in Event.objects.filter(pk__in=ids)}
    for event_id in ids[:3]:
        assert after[event_id].updated_at > before[event_id]
        assert after[event_id].updated_at > after[event_id].created_at
    for event_id in ids[3:]:
        assert after[event_id].updated_at == before[event_id]


@pytest.mark.django_db
def test_event_save_makes_its_own_partition():
    source = SourceFactory()
    event = Event.objects.create(event_time=utc(2035, 8, 8), event_type="test", source=source)
    assert partition_of(event.pk) == "events_p20350801"
