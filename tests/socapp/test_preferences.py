"""The user's own time zone (socapp.UserPreference, /accounts/preferences/): chosen from
the IANA zones, audited, only ever one's own; pages then show and read times in it,
while the API stays in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from socapp.models import AuditEntry, UserPreference
from tests.conftest import client_for
from tests.factories import AlertFactory

pytestmark = pytest.mark.django_db

TRIGGERED = datetime(2026, 12, 7, 13, 3, 22, tzinfo=UTC)


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _zone(user) -> str | None:
    return UserPreference.objects.filter(user=user).values_list("time_zone", flat=True).first()


def test_the_page_offers_the_iana_zones_with_utc_chosen(analyst_a):
    page = _browser(analyst_a).get("/accounts/preferences/").content.decode()
    assert "<option selected>UTC</option>" in page
    assert "<option>Europe/Berlin</option>" in page and "<option>Asia/Kathmandu</option>" in page
    assert "posixrules" not in page and "Etc/GMT+1" not in page


def test_choosing_a_zone_is_saved_and_audited(analyst_a):
    response = _browser(analyst_a).post("/accounts/preferences/", {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302 and response["Location"] == "/accounts/preferences/"
    assert _zone(analyst_a) == "Europe/Berlin"
    entry = AuditEntry.objects.get(action="user.preference_change")
    assert entry.actor == analyst_a and entry.changes == {"time_zone": ["UTC", "Europe/Berlin"]}
    # The same zone again changes nothing and records nothing.
    _browser(analyst_a).post("/accounts/preferences/", {"time_zone": "Europe/Berlin"})
    assert AuditEntry.objects.filter(action="user.preference_change").count() == 1


@pytest.mark.parametrize(
    "bad", ["Mars/Olympus_Mons", "", "posixrules", "Europe/Berlin\x00", "x" * 500]
)
def test_a_zone_not_offered_is_a_400_and_nothing_changes(analyst_a, bad):
    response = _browser(analyst_a).post("/accounts/preferences/", {"time_zone": bad})
    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.content.decode()
    assert _zone(analyst_a) is None
    assert not AuditEntry.objects.filter(action="user.preference_change").exists()


def test_a_user_changes_only_their_own_zone(analyst_a, analyst_b, soc_admin):
    UserPreference.objects.create(user=analyst_b, time_zone="Asia/Tokyo")
    # Naming someone else, any way a form could, still changes the sender's own.
    _browser(soc_admin).post(
        f"/accounts/preferences/?user={analyst_b.pk}",
        {"time_zone": "America/Chicago", "user": analyst_b.pk, "user_id": analyst_b.pk},
    )
    assert _zone(analyst_b) == "Asia/Tokyo" and _zone(soc_admin) == "America/Chicago"


def test_a_user_without_a_role_may_set_their_zone(nobody):
    response = _browser(nobody).post("/accounts/preferences/", {"time_zone": "Europe/Paris"})
    assert response.status_code == 302 and _zone(nobody) == "Europe/Paris"


def test_anonymous_is_sent_to_log_in():
    response = Client().post("/accounts/preferences/", {"time_zone": "Europe/Paris"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_pages_show_times_in_the_chosen_zone_with_the_zone_named(analyst_a, team_a):
    alert = AlertFactory(team=team_a, triggered_at=TRIGGERED, last_seen_at=TRIGGERED)
    browser = _browser(analyst_a)
    before = browser.get(f"/alerts/{alert.pk}/").content.decode()
    assert ">2026-12-07 13:03:22 UTC</time>" in before
    browser.post("/accounts/preferences/", {"time_zone": "Asia/Kathmandu"})
    after = browser.get(f"/alerts/{alert.pk}/").content.decode()
    assert ">2026-12-07 18:48:22 UTC+05:45</time>" in after
    assert 'datetime="2026-12-07T13:03:22+00:00"' in after
    assert 'data-time-zone="Asia/Kathmandu"' in after  # for the charts' scripts


def test_pages_read_typed_times_in_the_chosen_zone(analyst_a, reference_data):
    UserPreference.objects.create(user=analyst_a, time_zone="Europe/Berlin")
    page = _browser(analyst_a).get(
        "/events/search/",
        {"q": "", "range": "custom", "since": "2026-12-07T09:00", "until": "2026-12-07T10:00"},
    )
    assert page.status_code == 200
    # Shown back in Berlin time, zone named, meaning 08:00-09:00 UTC.
    html = page.content.decode()
    assert "2026-12-07 09:00:00 CET to 2026-12-07 10:00:00 CET" in html
    assert 'datetime="2026-12-07T08:00:00+00:00"' in html


def test_the_api_stays_in_utc_whatever_the_zone(analyst_a, team_a):
    UserPreference.objects.create(user=analyst_a, time_zone="Asia/Tokyo")
    AlertFactory(team=team_a, triggered_at=TRIGGERED, last_seen_at=TRIGGERED)
    found = client_for(analyst_a).get("/api/v1/alerts/").json()["results"][0]
    assert found["triggered_at"] in ("2026-12-07T13:03:22Z", "2026-12-07T13:03:22+00:00")
    browser = _browser(analyst_a)  # a session (the dashboard's own fetch) too
    found = browser.get("/api/v1/alerts/").json()["results"][0]
    assert found["triggered_at"] in ("2026-12-07T13:03:22Z", "2026-12-07T13:03:22+00:00")
