"""One time format on pages: ``{{ moment|when }}`` writes the moment in the user's zone
with the zone named, and keeps the machine-readable ISO 8601 in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from socapp.timefmt import when_text, zone_label

MOMENT = datetime(2026, 12, 7, 13, 3, 22, tzinfo=UTC)


def _render(source: str, zone: str, **context) -> str:
    with timezone.override(ZoneInfo(zone)):
        return Template(source).render(Context(context))


def test_when_shows_the_users_zone_and_keeps_utc_for_machines():
    html = _render("{{ at|when }}", "Europe/Berlin", at=MOMENT)
    assert html == '<time datetime="2026-12-07T13:03:22+00:00">2026-12-07 14:03:22 CET</time>'
    assert _render("{{ at|when }}", "UTC", at=MOMENT).endswith(">2026-12-07 13:03:22 UTC</time>")


def test_summer_time_is_named_and_minutes_leave_out_the_seconds():
    summer = datetime(2026, 7, 1, 22, 30, 5, tzinfo=UTC)
    assert _render('{{ at|when:"minutes" }}', "Europe/Berlin", at=summer).endswith(
        ">2026-07-02 00:30 CEST</time>"
    )
    assert _render("{{ at|when_text }}", "America/New_York", at=summer) == "2026-07-01 18:30:05 EDT"


@pytest.mark.parametrize(
    ("zone", "label"),
    [("Asia/Kathmandu", "UTC+05:45"), ("America/Sao_Paulo", "UTC-03:00"), ("UTC", "UTC")],
)
def test_a_zone_without_letters_is_written_as_an_offset(zone, label):
    assert zone_label(MOMENT.astimezone(ZoneInfo(zone))) == label


def test_no_moment_is_nothing():
    assert _render("[{{ at|when }}][{{ at|when_text }}]", "UTC", at=None) == "[][]"
    assert _render("{{ at|when }}", "UTC", at="<b>not a time</b>") == ""


def test_when_text_of_a_naive_moment_does_not_fail():
    assert when_text(datetime(2026, 1, 1, 0, 0)) == "2026-01-01 00:00:00 UTC"
