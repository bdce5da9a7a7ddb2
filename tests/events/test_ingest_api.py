"""POST /api/v1/ingest/ and the Splunk HEC intake, as shippers and scripts use them."""

from __future__ import annotations

import gzip
import json

import pytest
from django.urls import reverse

from events.models import Event, IngestBatch, QuarantinedRecord, Source
from events.services import source_create
from tests.conftest import client_for

SSHD = (
    b"Nov 28 04:03:59 fw sshd[1]: Failed password for root from 198.51.100.9 port 22 ssh2\n"
    b"Nov 28 04:04:00 fw sshd[1]: Accepted password for bob from 198.51.100.9 port 22 ssh2\n"
)


@pytest.fixture
def syslog_source(reference_data):
    from socapp.models import Team

    return source_create(
        name="fw-edge", log_format="syslog", team=Team.objects.get(name="SOC"), actor=None
    )


def post(api, token, body, content_type="text/plain", **headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return api.generic("POST", reverse("api:ingest"), body, content_type=content_type, **extra)


@pytest.mark.django_db
def test_a_batch_is_stored_and_counted(api, syslog_source):
    source, token = syslog_source
    response = post(api, token, SSHD + b"garbage without any header\n")
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["quarantined"]) == (2, 0, 1)
    assert body["errors"] == [
        {"line": 3, "reason": "not a syslog message: no <PRI> and no timestamp"}
    ]
    events = Event.objects.filter(batch_id=body["batch_id"])
    assert {e.event_type for e in events} == {"ssh_login_failed", "ssh_login_accepted"}
    assert {str(e.source_ip) for e in events} == {"198.51.100.9"}
    source.refresh_from_db()
    assert (source.accepted_count, source.quarantined_count) == (2, 1)
    assert source.bytes_received == len(SSHD) + len(b"garbage without any header\n")
    assert source.last_seen is not None
    quarantined = QuarantinedRecord.objects.get(source=source)
    assert bytes(quarantined.raw) == b"garbage without any header"
    assert quarantined.parser == "syslog"


@pytest.mark.django_db
def test_the_same_idempotency_key_and_body_store_nothing_new(api, syslog_source):
    _, token = syslog_source
    first = post(api, token, SSHD, **{"Idempotency-Key": "batch-0001"}).json()
    again = post(api, token, SSHD, **{"Idempotency-Key": "batch-0001"}).json()
    assert again == first
    assert Event.objects.count() == 2 and IngestBatch.objects.count() == 1
    conflict = post(api, token, SSHD + SSHD, **{"Idempotency-Key": "batch-0001"})
    assert conflict.status_code == 409
    assert "different body" in conflict.json()["detail"]


@pytest.mark.django_db
def test_identical_lines_that_happened_twice_stay_two_events(api, syslog_source):
    _, token = syslog_source
    line = SSHD.splitlines()[0] + b"\n"
    assert post(api, token, line + line).json()["accepted"] == 2
    assert post(api, token, line).json()["accepted"] == 1  # a new call without a key: new events
    assert Event.objects.count() == 3


@pytest.mark.django_db
def test_gzip_bodies(api, syslog_source):
    _, token = syslog_source
    response = post(api, token, gzip.compress(SSHD), **{"Content-Encoding": "gzip"})
    assert response.json()["accepted"] == 2
    broken = post(api, token, b"\x1f\x8b\x08\x00garbage", **{"Content-Encoding": "gzip"})
    assert broken.status_code == 400 and "gzip" in broken.json()["detail"]


@pytest.mark.django_db
def test_too_large_bodies_get_413(api, syslog_source, settings):
    settings.INGEST_MAX_BODY_BYTES = 1000
    _, token = syslog_source
    assert post(api, token, SSHD * 20).status_code == 413
    bomb = gzip.compress(b"a" * 100_000)  # small on the wire, large unpacked
    assert post(api, token, bomb, **{"Content-Encoding": "gzip"}).status_code == 413
    assert Event.objects.count() == 0


@pytest.mark.django_db
def test_token_problems(api, syslog_source, analyst_a):
    from io import StringIO

    from django.core.management import call_command

    source, token = syslog_source
    assert post(api, None, SSHD).status_code == 401
    assert post(api, "socapp_src_not-a-real-token", SSHD).status_code == 401
    out = StringIO()
    call_command("token_create", "analyst_a", stdout=out, stderr=StringIO())
    personal = post(api, out.getvalue().strip(), SSHD)
    assert personal.status_code == 401 and "personal API token" in personal.json()["detail"]
    Source.objects.filter(pk=source.pk).update(is_active=False)
    inactive = post(api, token, SSHD)
    assert inactive.status_code == 403 and "inactive" in inactive.json()["detail"]
    Source.objects.filter(pk=source.pk).update(is_active=True, token_revoked_at="2026-01-01T00:00Z")
    assert post(api, token, SSHD).status_code == 401
    assert Event.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\n\n\n",
        b"\xff\xfe\xfd not utf-8 \x80\n",
        b"<13>Nov 28 04:03:59 h app: nul \x00 inside\n",
        b"<13>Nov 28 04:03:59 h app: " + b"x" * 200_000 + b"\n",
        b"<13>Nov 28 04:03:59 h app: " + b"\xf0\x9f\x94\x92" * 1000 + b"\n",
        b"9999-99-99T99:99:99Z h app: absurd time\n",
        b"<13>Dec 32 25:61:61 h app: absurd bsd time\n",
    ],
)
def test_hostile_input_never_causes_a_500(api, syslog_source, body):
    _, token = syslog_source
    response = post(api, token, body)
    result = response.json()
    assert result["accepted"] + result["quarantined"] == len(
        [b for b in body.splitlines() if b.strip()]
    )
    # Nothing but garbage is a 400 (its records quarantined); anything good, or nothing, a 200.
    assert response.status_code == (400 if result["accepted"] == 0 < result["quarantined"] else 200)


@pytest.mark.django_db
def test_a_future_timestamp_is_not_believed(api, syslog_source):
    _, token = syslog_source
    post(api, token, b"2099-01-01T00:00:00Z h app: from the future\n")
    event = Event.objects.get()
    assert event.event_time.year < 2099
    assert "timestamp_replaced" in event.normalized_data["tags"]
    assert event.normalized_data["socapp"]["claimed_timestamp"].startswith("2099-01-01")


@pytest.mark.django_db
def test_nul_bytes_are_stored_safely(api, syslog_source):
    _, token = syslog_source
    post(api, token, b"<13>Nov 28 04:03:59 h app: before\x00after\n")
    event = Event.objects.get()
    assert "\x00" not in event.raw_data and "before\ufffdafter" in event.raw_data


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_snort_json_and_text_lines_declared_json_are_each_stored(api, team_a, content_type):
    """Snort's alert_json and alert_fast lines in one body declared JSON (found by the
    corpus): each line is its own record; the alert_fast line after an object is not read
    as the rest of a broken JSON document (it was: 3 quarantine rows, the alert lost)."""
    _, token = source_create(name="ids", log_format="snort", team=team_a, actor=None)
    alert_json = {"timestamp": "26/03/01-10:00:00.000000", "rule": "1:2019401:3", "msg": "one"}
    fast = "03/01-10:00:01.000000 [**] [1:2019402:1] two [**] {TCP} 10.0.0.1:1 -> 10.0.0.2:80"
    body = json.dumps(alert_json) + "\n" + fast + "\n"
    response = post(api, token, body.encode(), content_type=content_type)
    assert response.status_code == 200, response.content
    assert (response.json()["accepted"], response.json()["quarantined"]) == (2, 0)
    assert sorted(e.normalized_data["rule"]["name"] for e in Event.objects.all()) == ["one", "two"]


# ---- Splunk HEC ---------------------------------------------------------------------


def hec(api, path, token, body, scheme="Splunk"):
    extra = {"HTTP_AUTHORIZATION": f"{scheme} {token}"} if token else {}
    return api.generic("POST", path, body, content_type="application/json", **extra)


@pytest.mark.django_db
def test_hec_event_endpoint_takes_concatenated_events(api, syslog_source):
    _, token = syslog_source
    lines = SSHD.decode().splitlines()
    body = "".join(json.dumps({"event": line, "time": 1764300000, "host": "fw"}) for line in lines)
    response = hec(api, "/services/collector/event", token, body)
    assert response.status_code == 200
    assert response.json()["text"] == "Success" and response.json()["code"] == 0
    assert Event.objects.filter(event_type="ssh_login_failed").exists()


@pytest.mark.django_db
def test_hec_raw_endpoint_and_health(api, syslog_source):
    _, token = syslog_source
    assert hec(api, "/services/collector/raw", token, SSHD).json()["code"] == 0
    assert Event.objects.count() == 2
    assert api.get("/services/collector/health").json()["code"] == 17


@pytest.mark.django_db
def test_hec_errors_speak_hec(api, syslog_source):
    _, token = syslog_source
    assert hec(api, "/services/collector/event", None, "{}").json() == {
        "text": "Token is required",
        "code": 2,
    }
    assert hec(api, "/services/collector/event", "bogus", "{}").json()["code"] == 4
    assert hec(api, "/services/collector/event", token, "").json()["code"] == 5
    # "x" is not syslog, and what follows the first object is not JSON: both quarantined,
    # and with nothing stored the answer is HEC's "Invalid data format" with the reasons.
    response = hec(api, "/services/collector/event", token, '{"event": "x"} not json')
    assert response.status_code == 400, response.content
    answer = response.json()
    assert (answer["text"], answer["code"], answer["quarantined"]) == ("Invalid data format", 6, 2)
    assert [e["line"] for e in answer["errors"]] == [1, 2]


@pytest.mark.django_db
def test_token_failures_on_ingest_are_audited_once_each(api, syslog_source):
    from socapp.audit_access import forget_bounds
    from socapp.models import AuditEntry

    forget_bounds()
    source, token = syslog_source
    assert post(api, "socapp_src_" + "n" * 43, SSHD).status_code == 401
    Source.objects.filter(pk=source.pk).update(is_active=False)
    assert post(api, token, SSHD).status_code == 403
    unknown, inactive = AuditEntry.objects.filter(action="auth.token_failed").order_by("seq")
    assert unknown.changes["reason"] == "Unknown or revoked ingest token."
    assert unknown.changes["token"] == "socapp_src_nnnnnn"
    assert (inactive.object_type, inactive.object_id) == ("events.source", str(source.pk))
    assert "inactive" in inactive.changes["reason"] and inactive.result == "failed"
    assert inactive.changes["path"] == "/api/v1/ingest/"
    # The 403 is that same failure, not a second entry.
    assert not AuditEntry.objects.filter(action="access.denied").exists()
    forget_bounds()


GARBAGE = b"garbage without any header\nmore garbage\n"


@pytest.mark.django_db
def test_a_body_of_which_nothing_parses_is_a_400_with_each_lines_reason(
    api, syslog_source, soc_admin
):
    _, token = syslog_source
    response = post(api, token, GARBAGE)
    assert response.status_code == 400
    answer = response.json()
    assert "No record could be parsed" in answer["detail"]
    assert (answer["accepted"], answer["duplicates"], answer["quarantined"]) == (0, 0, 2)
    assert answer["errors"] == [
        {"line": 1, "reason": "not a syslog message: no <PRI> and no timestamp"},
        {"line": 2, "reason": "not a syslog message: no <PRI> and no timestamp"},
    ]
    # Nothing is lost: the records wait in the quarantine.
    kept = client_for(soc_admin).get("/api/v1/quarantine/?source__name=fw-edge").json()
    assert sorted(r["reason"] for r in kept["results"]) == [answer["errors"][0]["reason"]] * 2
    assert client_for(soc_admin).get("/api/v1/events/").json()["results"] == []


@pytest.mark.django_db
def test_one_good_record_among_garbage_is_still_a_200(api, syslog_source):
    _, token = syslog_source
    response = post(api, token, GARBAGE + SSHD.splitlines(keepends=True)[0])
    assert response.status_code == 200
    assert (response.json()["accepted"], response.json()["quarantined"]) == (1, 2)


@pytest.mark.django_db
def test_an_idempotent_replay_of_an_unparsable_body_answers_400_again(api, syslog_source):
    source, token = syslog_source
    first = post(api, token, GARBAGE, **{"Idempotency-Key": "junk-1"})
    again = post(api, token, GARBAGE, **{"Idempotency-Key": "junk-1"})
    assert (first.status_code, again.status_code) == (400, 400)
    assert again.json() == first.json()
    assert QuarantinedRecord.objects.filter(source=source).count() == 2  # kept once


@pytest.mark.django_db
def test_hec_raw_garbage_is_a_400_and_a_good_line_a_200(api, syslog_source):
    _, token = syslog_source
    refused = hec(api, "/services/collector/raw", token, GARBAGE)
    assert refused.status_code == 400 and refused.json()["code"] == 6
    assert "No record could be parsed" in refused.json()["detail"]
    taken = hec(api, "/services/collector/raw", token, GARBAGE + SSHD)
    assert taken.status_code == 200 and taken.json()["accepted"] == 2
