"""Snort alerts through POST /api/v1/ingest/ as a sensor's shipper sends them: Snort 3
``alert_json``, ``alert_fast`` lines and ``snort[pid]:`` syslog lines, on a ``snort``
source and (the syslog lines) on an ordinary ``syslog`` source; each bad record is
quarantined with its reason, the rest of the batch stored."""

from __future__ import annotations

import json

import pytest

from events.models import Event, QuarantinedRecord
from events.services import source_create
from tests.events.test_ingest_api import post

ALERT_JSON = {
    "timestamp": "26/02/28-11:18:21.000123",
    "pkt_num": 4,
    "proto": "TCP",
    "pkt_gen": "raw",
    "pkt_len": 60,
    "dir": "C2S",
    "src_addr": "203.0.113.66",
    "src_port": 48620,
    "dst_addr": "10.9.8.7",
    "dst_port": 8080,
    "service": "http",
    "rule": "1:2034647:3",
    "priority": 1,
    "class": "Attempted Administrator Privilege Gain",
    "action": "would_block",
    "b64_data": "R0VUIC8gSFRUUC8xLjE=",
    "msg": "ET EXPLOIT Apache log4j RCE Attempt (CVE-2021-44228)",
}
FAST = (
    "02/28-11:20:00.500000 [**] [1:2019401:3] ET POLICY Outdated Flash Version M1 [**]"
    " [Classification: Potential Corporate Privacy Violation] [Priority: 2]"
    " {TCP} 10.1.1.1:52000 -> 198.51.100.7:80"
)
SYSLOG = (
    "<33>Feb 28 11:21:00 ids-02 snort[4711]: [1:2024792:2] ET EXPLOIT Possible CVE-2017-0144"
    " EternalBlue [Classification: Attempted Administrator Privilege Gain] [Priority: 1]:"
    " <eth1> {TCP} 203.0.113.9:4444 -> 10.9.8.7:445"
)


def source(log_format: str):
    from socapp.models import Team

    return source_create(
        name=f"ids-{log_format}",
        log_format=log_format,
        team=Team.objects.get(name="SOC"),
        actor=None,
    )


def stored(batch_id: str) -> dict[str, Event]:
    """The batch's events by ``rule.id``."""
    events = Event.objects.filter(batch_id=batch_id)
    return {e.normalized_data["rule"]["id"]: e for e in events}


@pytest.mark.django_db
def test_each_snort_output_is_stored_as_an_ids_alert(api, reference_data):
    _, token = source("snort")
    body = "\n".join([json.dumps(ALERT_JSON), FAST, SYSLOG]) + "\n"
    answer = post(api, token, body.encode()).json()
    assert (answer["accepted"], answer["quarantined"]) == (3, 0), answer

    events = stored(answer["batch_id"])
    exploit = events["2034647"]
    assert exploit.event_type == "snort_alert"
    assert (str(exploit.source_ip), exploit.source_port) == ("203.0.113.66", 48620)
    assert (str(exploit.dest_ip), exploit.dest_port, exploit.protocol) == ("10.9.8.7", 8080, "tcp")
    assert exploit.event_time.isoformat() == "2026-02-28T11:18:21.000123+00:00"
    doc = exploit.normalized_data
    assert doc["event"]["kind"] == "alert" and doc["event"]["dataset"] == "snort.alert"
    assert (doc["event"]["severity"], doc["event"]["severity_name"]) == (1, "high")
    assert doc["event"]["type"] == ["allowed"]  # would_block: IDS mode let it through
    assert doc["rule"]["name"] == ALERT_JSON["msg"]
    assert doc["rule"]["category"] == "Attempted Administrator Privilege Gain"
    assert doc["vulnerability"]["id"] == ["CVE-2021-44228"]
    assert doc["network"]["protocol"] == "http"
    assert doc["snort"]["rule"] == "1:2034647:3" and doc["b64_data"] == ALERT_JSON["b64_data"]

    flash = events["2019401"].normalized_data
    assert flash["rule"]["name"] == "ET POLICY Outdated Flash Version M1"
    assert flash["event"]["severity"] == 2 and "vulnerability" not in flash
    assert flash["destination"] == {"ip": "198.51.100.7", "port": 80}

    eternal = events["2024792"].normalized_data
    assert eternal["vulnerability"]["id"] == ["CVE-2017-0144"]
    assert eternal["host"]["hostname"] == "ids-02"
    assert eternal["observer"]["ingress"]["interface"]["name"] == "eth1"
    assert eternal["destination"] == {"ip": "10.9.8.7", "port": 445}


@pytest.mark.django_db
def test_snort_syslog_lines_on_a_syslog_source_are_alerts_too(api, reference_data):
    _, token = source("syslog")
    answer = post(api, token, (SYSLOG + "\n").encode()).json()
    (event,) = Event.objects.filter(batch_id=answer["batch_id"])
    assert event.event_type == "snort_alert"
    assert event.normalized_data["event"]["kind"] == "alert"
    assert event.normalized_data["vulnerability"]["id"] == ["CVE-2017-0144"]


@pytest.mark.django_db
def test_a_bad_snort_record_is_quarantined_with_its_reason_and_costs_only_itself(
    api, reference_data
):
    snort, token = source("snort")
    bad = [
        json.dumps({**ALERT_JSON, "rule": "not-a-rule"}),
        json.dumps({"pkt_num": 1, "proto": "TCP"}),
        json.dumps({**ALERT_JSON, "timestamp": "02/30-11:18:21.000000"}),
        "02/28-11:20:00.500000 some other line",
        "<30>Feb 28 11:21:00 ids-02 sshd[1]: not snort",
        '{"rule": ',
    ]
    body = "\n".join([FAST, *bad, json.dumps(ALERT_JSON)]) + "\n"
    answer = post(api, token, body.encode()).json()
    assert (answer["accepted"], answer["quarantined"]) == (2, len(bad))
    reasons = {error["line"]: error["reason"] for error in answer["errors"]}
    assert reasons[2] == "a Snort rule is gid:sid:rev, not 'not-a-rule'"
    assert "no 'rule' (gid:sid:rev)" in reasons[3]
    assert reasons[4] == "not a real date: '02/30-11:18:21.000000'"
    assert "no [gid:sid:rev]" in reasons[5]
    assert reasons[6].startswith("not a Snort alert")
    assert reasons[7].startswith("not JSON")
    rows = QuarantinedRecord.objects.filter(source=snort).order_by("line_number")
    assert [r.parser for r in rows] == ["snort"] * len(bad)
    assert bytes(rows[3].raw) == b"02/28-11:20:00.500000 some other line"


@pytest.mark.django_db
def test_a_resent_alert_json_line_is_stored_once(api, reference_data):
    _, token = source("snort")
    line = (json.dumps(ALERT_JSON) + "\n").encode()
    assert post(api, token, line).json()["accepted"] == 1
    assert post(api, token, line).json()["duplicates"] == 1
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_a_huge_message_naming_thousands_of_cves_costs_a_bounded_amount(api, reference_data):
    """A sender controls the message: 3,000 CVE ids in one 45 KB line are stored as one
    alert whose message is cut to MAX_MESSAGE and whose CVE list holds MAX_PER_TEXT."""
    from events.parsers.snort_alert import MAX_MESSAGE
    from socapp.cve import MAX_PER_TEXT

    _, token = source("snort")
    cves = " ".join(f"CVE-2021-{10000 + n}" for n in range(3000))
    line = FAST.replace("ET POLICY Outdated Flash Version M1", f"ET EXPLOIT {cves}")
    answer = post(api, token, (line + "\n" + FAST + "\n").encode()).json()
    assert (answer["accepted"], answer["quarantined"]) == (2, 0)
    event = max(Event.objects.filter(batch_id=answer["batch_id"]), key=lambda e: len(e.raw_data))
    assert len(event.raw_data) > 40_000
    document = event.normalized_data
    assert len(document["vulnerability"]["id"]) == MAX_PER_TEXT
    assert len(document["rule"]["name"]) <= MAX_MESSAGE
