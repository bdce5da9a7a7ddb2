"""An indicator's life cycle: a false-positive verdict on its alert retires or down-scores
it, expiry takes it out of matching with a sighting, and a change made in one process
reaches the matching of another."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from events.services import source_create
from incidents.models import Alert
from intel.choices import IocStatus
from intel.indicator_set import build_index, indicator_set
from intel.lifecycle import expire_indicators
from intel.models import IOC, IocMatch, IocSighting
from scripts.processes import free_port, start_web, wait_until_serving
from socapp.roof.bootstrap import BootstrapReport, ensure_rule_pack
from tests.conftest import app_env, client_for, indicators_caught_up
from tests.events.test_ingest_api import post
from tests.factories import IOCFactory, ThreatIntelFactory

pytestmark = pytest.mark.django_db(transaction=True)

EVENT = {"host": {"name": "ws-1"}, "destination": {"ip": "5.188.206.80"}}


def body(*docs: dict) -> bytes:
    now = timezone.now().isoformat()
    return b"".join(json.dumps({"@timestamp": now, **d}).encode() + b"\n" for d in docs)


@pytest.fixture
def source(reference_data, settings):
    from socapp.models import Team

    settings.INTEL_MATCH_CHECK_SECONDS = 0
    ensure_rule_pack(BootstrapReport())
    return source_create(
        name="sensors", log_format="json", team=Team.objects.get(name="SOC"), actor=None
    )[1]


def close_as_false_positive(user, alert: Alert):
    return client_for(user).patch(
        f"/api/v1/alerts/{alert.pk}/",
        {"status": "closed", "close_reason": "false_positive"},
        format="json",
    )


def test_a_false_positive_verdict_retires_the_indicator(api, source, analyst_a):
    ioc = IOCFactory(value="5.188.206.80", confidence_score=0.9)
    post(api, source, body(EVENT))
    alert = Alert.objects.get()
    Alert.objects.filter(pk=alert.pk).update(team=analyst_a.teams.first())
    assert close_as_false_positive(analyst_a, alert).status_code == 200
    ioc.refresh_from_db()
    assert ioc.status == IocStatus.FALSE_POSITIVE
    verdict = ioc.sightings.get(kind="false_positive")
    assert verdict.by == analyst_a and verdict.reference == f"alert {alert.pk}"
    indicators_caught_up()
    post(api, source, body(EVENT))  # the retired indicator no longer matches
    assert IocMatch.objects.count() == 1 and Alert.objects.count() == 1


def test_the_verdict_may_halve_confidence_instead(api, source, analyst_a, settings):
    settings.INTEL_FALSE_POSITIVE_ACTION = "halve"
    ioc = IOCFactory(value="5.188.206.80", confidence_score=0.9)
    post(api, source, body(EVENT))
    alert = Alert.objects.get()
    assert alert.severity.name == "high"
    Alert.objects.filter(pk=alert.pk).update(team=analyst_a.teams.first())
    close_as_false_positive(analyst_a, alert)
    ioc.refresh_from_db()
    assert (ioc.status, ioc.confidence_score) == (IocStatus.ACTIVE, 0.45)
    indicators_caught_up()
    post(api, source, body({**EVENT, "host": {"name": "ws-2"}}))
    newer = Alert.objects.exclude(pk=alert.pk).get()
    assert newer.severity.name == "medium"  # still matching, with less weight


def test_closing_other_alerts_as_false_positive_touches_no_indicator(source, analyst_a):
    from tests.factories import AlertFactory

    ioc = IOCFactory(value="5.188.206.80")
    alert = AlertFactory(team=analyst_a.teams.first(), details={"entities": {}})
    assert close_as_false_positive(analyst_a, alert).status_code == 200
    ioc.refresh_from_db()
    assert ioc.status == IocStatus.ACTIVE and not IocSighting.objects.exists()


def test_expired_indicators_are_marked_with_a_sighting(reference_data):
    past = timezone.now() - timedelta(hours=1)
    gone = IOCFactory(value="5.188.206.1", expires_at=past)
    kept = IOCFactory(value="5.188.206.2", expires_at=timezone.now() + timedelta(days=1))
    assert expire_indicators() == 1
    gone.refresh_from_db()
    kept.refresh_from_db()
    assert (gone.status, kept.status) == (IocStatus.EXPIRED, IocStatus.ACTIVE)
    assert gone.sightings.get().kind == "expired"
    assert expire_indicators() == 0


def test_the_index_loads_no_more_than_the_cap_most_confident_first(reference_data, settings):
    settings.INTEL_MATCH_MAX_INDICATORS = 3
    feed = ThreatIntelFactory()
    IOC.objects.bulk_create(
        [IOC(intel=feed, ioc_type="ipv4", value=f"45.9.148.{n}", confidence_score=n / 10)
         for n in range(1, 8)]
    )  # fmt: skip
    index, report = build_index()
    assert (len(index), report.truncated) == (3, True)
    assert {i.value for items in index.networks[4][32].values() for i in items} == {
        "45.9.148.5", "45.9.148.6", "45.9.148.7"
    }  # fmt: skip


def test_a_bulk_write_without_a_bump_is_caught_by_the_fingerprint(reference_data, settings):
    settings.INTEL_MATCH_CHECK_SECONDS = 0
    settings.INTEL_MATCH_FINGERPRINT_SECONDS = 0
    IOCFactory(value="5.188.206.1")
    assert len(indicator_set.fresh()) == 1
    feed = ThreatIntelFactory()
    IOC.objects.bulk_create([IOC(intel=feed, ioc_type="ipv4", value="5.188.206.2")])
    assert len(indicator_set.fresh()) == 1  # built in the background meanwhile
    assert indicator_set.wait(60) and len(indicator_set.fresh()) == 2


@pytest.mark.slow
def test_a_change_reaches_the_matching_of_another_process(source, process_group, tmp_path):
    """A web process (its own index) sees indicators added and revoked here."""
    port = free_port()
    env = app_env(INTEL_MATCH_CHECK_SECONDS="0", INTEL_MATCH_FINGERPRINT_SECONDS="3600")
    process_group.add(start_web(port, env=env, output=tmp_path / "web.log"))
    wait_until_serving(f"http://127.0.0.1:{port}")

    def send() -> None:
        response = requests.post(
            f"http://127.0.0.1:{port}/api/v1/ingest/",
            data=body(EVENT),
            headers={"Authorization": f"Bearer {source}", "Content-Type": "text/plain"},
            timeout=30,
        )
        assert response.status_code == 200, response.text

    send()
    assert not IocMatch.objects.exists()
    ioc = IOCFactory(value="5.188.206.80")  # committed here; its signal bumps the version
    # the event sent before the indicator existed is found by its retro-hunt (here)
    assert IocMatch.objects.filter(ioc=ioc, retro_hunt=True).count() == 1
    # The web process rebuilds in the background: the batches sent meanwhile match with
    # its previous index (a catch-up retro-hunt covers them), the next ones with the new.
    at_ingest = IocMatch.objects.filter(ioc=ioc, retro_hunt=False)
    for _ in range(50):
        send()
        if at_ingest.count():
            break
        time.sleep(0.1)
    assert at_ingest.count() == 1
    ioc.status = IocStatus.REVOKED
    ioc.save()
    for _ in range(50):  # until a batch matches no more (the revoked indicator is gone)
        before = at_ingest.count()
        send()
        if at_ingest.count() == before:
            break
        time.sleep(0.1)
    before = at_ingest.count()
    send()
    assert at_ingest.count() == before
