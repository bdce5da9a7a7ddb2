"""Indicator matching at ingest, through the public API: events carrying indicators are
stored with their matches and raise IOC-match alerts (the default pack's rule, run by
correlation after commit); retries and repeats do not duplicate; indicators that left the
active set stop matching; a sender cannot forge a match."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event
from events.services import source_create
from incidents.models import Alert
from intel.choices import IocStatus
from intel.models import IocMatch
from socapp.roof.bootstrap import BootstrapReport, ensure_rule_pack
from tests.conftest import indicators_caught_up
from tests.events.test_ingest_api import post
from tests.factories import IOCFactory, ThreatIntelFactory

pytestmark = pytest.mark.django_db(transaction=True)

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.fixture(autouse=True)
def _look_at_every_batch(settings):
    """Each batch looks at the set's version (in production: at most once a second)."""
    settings.INTEL_MATCH_CHECK_SECONDS = 0


@pytest.fixture
def json_source(reference_data):
    from socapp.models import Team

    ensure_rule_pack(BootstrapReport())
    return source_create(
        name="sensors", log_format="json", team=Team.objects.get(name="SOC"), actor=None
    )


@pytest.fixture
def feed():
    return ThreatIntelFactory(source_name="abuse-feed", confidence_score=0.9)


def ndjson(*docs: dict) -> bytes:
    now = timezone.now().isoformat()
    return b"".join(json.dumps({"@timestamp": now, **d}).encode() + b"\n" for d in docs)


# Public addresses on no warning list: the documentation ranges (192.0.2/24, 198.51.100/24,
# 203.0.113/24) are warning-listed, so a feed's indicator there never matches.
CIDR_HIT = {"host": {"name": "ws-1"}, "destination": {"ip": "45.9.148.77"}}
SUBDOMAIN_HIT = {"host": {"name": "ws-2"}, "dns": {"question": {"name": "cdn.Evil.example"}}}
SYSMON_HIT = {"Computer": "ws-3", "EventID": 1, "Hashes": f"MD5={'0' * 32},SHA256={SHA256}"}
NOTHING = {"host": {"name": "ws-4"}, "destination": {"ip": "192.0.2.1"}}


def indicators(feed):
    return {
        "cidr": IOCFactory(intel=feed, ioc_type="cidr", value="45.9.148.0/24",
                           confidence_score=0.9),
        "domain": IOCFactory(intel=feed, ioc_type="domain", value="evil.example",
                             confidence_score=0.5),
        "sha256": IOCFactory(intel=feed, ioc_type="sha256", value=SHA256, confidence_score=0.3),
    }  # fmt: skip


def test_events_carrying_indicators_are_matched_and_raise_alerts(api, json_source, feed):
    _, token = json_source
    iocs = indicators(feed)
    response = post(api, token, ndjson(CIDR_HIT, SUBDOMAIN_HIT, SYSMON_HIT, NOTHING))
    assert response.status_code == 200 and response.json()["accepted"] == 4
    matches = {(m.ioc_id, m.field) for m in IocMatch.objects.all()}
    assert matches == {
        (iocs["cidr"].pk, "destination.ip"),
        (iocs["domain"].pk, "dns.question.name"),
        (iocs["sha256"].pk, "Hashes"),
    }
    assert not IocMatch.objects.filter(retro_hunt=True).exists()
    alerts = {a.details["indicator"]["id"]: a for a in Alert.objects.all()}
    assert set(alerts) == {str(i.pk) for i in iocs.values()}
    # severity from the indicator's confidence (fresh: no decay yet)
    levels = {kind: alerts[str(ioc.pk)].severity.name for kind, ioc in iocs.items()}
    assert levels == {"cidr": "high", "domain": "medium", "sha256": "low"}
    cidr_alert = alerts[str(iocs["cidr"].pk)]
    assert cidr_alert.details["indicator"]["feed"] == "abuse-feed"
    assert cidr_alert.details["matched"] == {"field": "destination.ip", "value": "45.9.148.77"}
    assert cidr_alert.details["retro_hunt"] is False
    assert "45.9.148.0/24" in cidr_alert.title
    stored = Event.objects.get(pk=IocMatch.objects.get(ioc=iocs["domain"]).event_id)
    [enrichment] = stored.normalized_data["threat"]["enrichments"]
    assert enrichment["matched"]["atomic"] == "cdn.evil.example"
    iocs["cidr"].refresh_from_db()
    assert iocs["cidr"].sighting_count == 1 and iocs["cidr"].sightings.get().kind == "seen"
    assert iocs["cidr"].last_sighted_at == stored_time(iocs["cidr"])


def test_a_retried_batch_and_repeats_do_not_duplicate(api, json_source, feed):
    _, token = json_source
    ioc = indicators(feed)["cidr"]
    body = ndjson(CIDR_HIT)
    first = post(api, token, body, **{"Idempotency-Key": "b-1"}).json()
    again = post(api, token, body, **{"Idempotency-Key": "b-1"}).json()
    assert again == first
    assert IocMatch.objects.count() == 1 and Alert.objects.count() == 1
    # the same indicator on the same host later: a new match, folded into the alert
    post(api, token, ndjson(CIDR_HIT))
    assert IocMatch.objects.filter(ioc=ioc).count() == 2
    [alert] = Alert.objects.all()
    assert alert.count == 2
    # another host: its own alert (suppression is per indicator and host)
    post(api, token, ndjson({**CIDR_HIT, "host": {"name": "ws-9"}}))
    assert Alert.objects.count() == 2


@pytest.mark.parametrize(
    "change",
    [
        {"status": IocStatus.REVOKED},
        {"status": IocStatus.FALSE_POSITIVE},
        {"expires_at": timezone.now() - timedelta(minutes=1)},
    ],
)
def test_indicators_that_left_the_active_set_stop_matching(api, json_source, feed, change):
    _, token = json_source
    ioc = indicators(feed)["cidr"]
    post(api, token, ndjson(CIDR_HIT))
    assert IocMatch.objects.count() == 1
    for name, value in change.items():
        setattr(ioc, name, value)
    ioc.save()  # the save bumps the set's version: the next batch starts a rebuild
    indicators_caught_up()
    post(api, token, ndjson(CIDR_HIT))
    assert IocMatch.objects.count() == 1 and Alert.objects.count() == 1


def test_a_decayed_indicator_below_the_floor_is_recorded_without_alerting(
    api, json_source, feed, settings
):
    _, token = json_source
    settings.INTEL_HALF_LIFE_DAYS = {"cidr": 10}
    old = timezone.now() - timedelta(days=40)  # 0.9 -> 0.056, below the 0.2 floor
    IOCFactory(intel=feed, ioc_type="cidr", value="45.9.148.0/24", confidence_score=0.9,
               last_seen=old)  # fmt: skip
    post(api, token, ndjson(CIDR_HIT))
    assert IocMatch.objects.count() == 1 and not Alert.objects.exists()


def test_a_sender_cannot_forge_a_match(api, json_source, feed):
    _, token = json_source
    ioc = indicators(feed)["cidr"]
    forged = {
        "threat": {
            "enrichments": [
                {"indicator": {"id": str(ioc.pk), "score": 1.0}, "matched": {"field": "x"}}
            ]
        },
        "host": {"name": "ws-5"},
    }
    post(api, token, ndjson(forged))
    assert not Alert.objects.exists() and not IocMatch.objects.exists()
    stored = Event.objects.get()
    assert "enrichments" not in stored.normalized_data["threat"]
    assert stored.normalized_data["socapp"]["sender_threat_enrichments"][0]["matched"] == {
        "field": "x"
    }


def stored_time(ioc):
    return IocMatch.objects.get(ioc=ioc).event_time
