"""hourly_event_summary: what dashboards read instead of counting events per view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import HourlyEventSummary
from events.services import events_store
from events.tasks import refresh_hourly_event_summary
from tests.factories import SourceFactory, event_record


@pytest.mark.django_db(transaction=True)
def test_refresh_counts_events_per_hour_type_and_source():
    hour = (datetime.now(tz=UTC) - timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    fw, web = SourceFactory(name="fw"), SourceFactory(name="web")
    events_store(
        source=fw,
        records=[
            event_record(hour + timedelta(minutes=m), source_ip=f"192.0.2.{m % 3}")
            for m in range(9)
        ],
    )
    events_store(
        source=web,
        records=[
            event_record(hour + timedelta(minutes=5), event_type="http_request"),
            event_record(hour + timedelta(minutes=65), event_type="http_request"),
        ],
    )
    # Older than the view's 7 days: not summarised.
    events_store(source=fw, records=[event_record(datetime.now(tz=UTC) - timedelta(days=9))])

    refresh_hourly_event_summary()

    rows = {
        (r.hour, r.event_type, r.source.name): r
        for r in HourlyEventSummary.objects.select_related("source")
    }
    fw_row = rows[(hour, "authentication_failure", "fw")]
    assert (fw_row.event_count, fw_row.unique_sources) == (9, 3)
    assert rows[(hour, "http_request", "web")].event_count == 1
    assert rows[(hour + timedelta(hours=1), "http_request", "web")].event_count == 1
    assert sum(r.event_count for r in rows.values()) == 11


@pytest.mark.django_db(transaction=True)
def test_refresh_is_concurrent_and_repeatable():
    source = SourceFactory()
    at = datetime.now(tz=UTC) - timedelta(hours=1)
    events_store(source=source, records=[event_record(at)])
    refresh_hourly_event_summary()
    events_store(source=source, records=[event_record(at)])
    refresh_hourly_event_summary()
    assert sum(HourlyEventSummary.objects.values_list("event_count", flat=True)) == 2
