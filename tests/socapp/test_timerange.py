"""The console's one time-range parser (socapp/timerange.py): relative and absolute
ranges, read in the user's zone, bounded, and every bad value a TimeRangeError that
names the parameter (the pages show it with a 400), never an exception of another kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from socapp.timerange import TimeRange, TimeRangeError, parse_moment, time_range_from

NOW = datetime(2026, 12, 7, 13, 3, 22, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def _range(default: str | None = "24h", zone=BERLIN, **params: str) -> TimeRange | None:
    return time_range_from(params, default=default, zone=zone, now=NOW)


@pytest.mark.parametrize(
    ("text", "canonical", "length"),
    [
        ("15m", "15m", timedelta(minutes=15)),
        ("1h", "1h", timedelta(hours=1)),
        ("4h", "4h", timedelta(hours=4)),
        ("24h", "24h", timedelta(days=1)),
        ("7d", "7d", timedelta(days=7)),
        ("30d", "30d", timedelta(days=30)),
        ("now-6h", "6h", timedelta(hours=6)),
        (" 90M ", "90m", timedelta(minutes=90)),
        ("2w", "2w", timedelta(weeks=2)),
    ],
)
def test_a_relative_range_ends_now(text, canonical, length):
    found = _range(range=text)
    assert found == TimeRange(since=NOW - length, until=NOW, last=canonical)
    assert found.query() == {"range": canonical}


def test_the_words_of_a_range():
    assert _range(range="now-6h").words() == "Last 6 hours"
    assert _range(range="1h").words() == "Last 1 hour"
    assert _range(default="15m").words() == "Last 15 minutes"


def test_the_free_field_wins_over_the_quick_choice():
    assert _range(range="24h", last="6h").last == "6h"
    # and a relative choice over a from/to still in the form
    assert _range(range="1h", since="2026-12-01T00:00", until="2026-12-02T00:00").last == "1h"


def test_no_range_is_the_default_or_any_time():
    assert _range().last == "24h"
    assert _range(default=None) is None
    assert _range(default=None, range="any") is None
    with pytest.raises(TimeRangeError) as refused:
        _range(range="any")  # a page that reads one range at a time
    assert refused.value.field == "range"


def test_an_absolute_range_is_read_in_the_users_zone():
    found = _range(range="custom", since="2026-12-07T09:00", until="2026-12-07 17:30:15")
    # Berlin is UTC+1 in December.
    assert found.since == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert found.until == datetime(2026, 12, 7, 16, 30, 15, tzinfo=UTC)
    assert not found.relative


def test_a_moment_with_an_offset_means_what_it_says_in_any_zone():
    found = _range(since="2026-12-07T09:00:00+05:30", until="2026-12-07T10:00:00Z")
    assert found.since == datetime(2026, 12, 7, 3, 30, tzinfo=UTC)
    assert found.until == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_an_absolute_range_without_a_start_or_end():
    only_until = _range(until="2026-12-07T12:00:00Z")
    assert only_until.since == only_until.until - timedelta(hours=24)
    only_since = _range(since="2026-12-07T12:00:00Z")
    assert only_since.until == NOW


def test_an_absolute_range_comes_back_from_its_query():
    found = _range(since="2026-12-07T09:00", until="2026-12-07T10:00")
    assert time_range_from(found.query(), zone=UTC, now=NOW) == found


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"range": "garbage"}, "range", "a number and a unit"),
        ({"range": "0h"}, "range", "a number and a unit"),
        ({"range": "-6h"}, "range", "a number and a unit"),
        ({"range": "6x"}, "range", "a number and a unit"),
        ({"range": "1234567m"}, "range", "a number and a unit"),
        ({"range": "367d"}, "range", "at most 366 days"),
        ({"last": "53w"}, "last", "at most 366 days"),
        ({"range": "custom", "since": "yesterday"}, "since", "Give a date and time"),
        ({"since": "2026-13-45T99:00"}, "since", "Give a date and time"),
        ({"until": "9" * 500}, "until", "not a date and time"),
        ({"since": "2026-12-07T10:00Z", "until": "2026-12-07T10:00Z"}, "since", "start before"),
        ({"since": "2026-12-08T00:00Z", "until": "2026-12-07T00:00Z"}, "since", "start before"),
        ({"since": "2020-01-01T00:00Z", "until": "2026-01-01T00:00Z"}, "since", "366 days"),
        ({"since": "0001-01-01T00:30:00+01:00"}, "since", "out of range"),
    ],
)
def test_a_bad_range_is_an_error_naming_the_parameter(params, field, message):
    with pytest.raises(TimeRangeError) as refused:
        _range(**params)
    assert refused.value.field == field and message in refused.value.message


def test_the_longest_range_is_the_setting(settings):
    assert _range(range="366d").span == timedelta(days=366)
    settings.TIME_RANGE_MAX_DAYS = 2
    with pytest.raises(TimeRangeError):
        _range(range="3d")


def test_a_local_time_the_clock_skips_is_refused_not_guessed():
    # 2026-03-29: Berlin's clocks go from 02:00 to 03:00.
    with pytest.raises(TimeRangeError) as refused:
        parse_moment("2026-03-29T02:30", "since", BERLIN)
    assert "does not exist in Europe/Berlin" in refused.value.message
    assert parse_moment("2026-03-29T03:00", "since", BERLIN) == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )


def test_a_local_time_the_clock_repeats_is_refused_and_an_offset_settles_it():
    # 2026-10-25: 02:00-03:00 happens twice in Berlin (CEST, then CET).
    with pytest.raises(TimeRangeError) as refused:
        parse_moment("2026-10-25T02:30", "until", BERLIN)
    assert "happens twice" in refused.value.message and refused.value.field == "until"
    assert parse_moment("2026-10-25T02:30+01:00", "until", BERLIN) == datetime(
        2026, 10, 25, 1, 30, tzinfo=UTC
    )


def test_a_range_over_a_clock_change_spans_the_real_hours():
    # Midnight to 06:00 local on the spring-forward night is five hours.
    found = _range(since="2026-03-29T00:00", until="2026-03-29T06:00")
    assert found.span == timedelta(hours=5)
