"""Windows events in all their shapes (EVTX, evtx_dump JSON, Winlogbeat, flat exports) and
AWS CloudTrail records."""

from __future__ import annotations

import json
import zipfile

import pytest

from events.files import chunks
from events.parsers import Rejected, parser_for
from events.parsers.base import ParseContext
from tests.events.oracle import BEATS, DATA, beats_pairs, compare, flatten, parse_lines, parse_one

REGRESSION = DATA / "sigma" / "regression_data"


def _context() -> ParseContext:
    from datetime import UTC, datetime

    return ParseContext(received_at=datetime(2026, 11, 28, tzinfo=UTC))


def test_sysmon_from_the_evtx_file_and_its_json_twin_agree():
    case = REGRESSION / (
        "rules-threat-hunting/windows/image_load/image_load_win_werfaultsecure_dbgcore_dbghelp_load"
    )
    [evtx] = case.glob("*.evtx")
    [twin] = case.glob("*.json")
    from_evtx = []
    for chunk in chunks(evtx.name, evtx.read_bytes(), "windows"):
        from_evtx += list(parser_for("windows")(chunk.records, _context()))
    from_json = []
    for chunk in chunks(twin.name, twin.read_bytes(), "windows"):
        from_json += list(parser_for("windows")(chunk.records, _context()))
    assert len(from_evtx) == len(from_json) >= 1
    event = from_evtx[0]
    flat = flatten(event.fields)
    assert event.event_type == "sysmon_7"
    assert flat["EventID"] == 7 and flat["Channel"] == "Microsoft-Windows-Sysmon/Operational"
    assert flat["Image"] == "C:\\Windows\\System32\\WerFaultSecure.exe"  # Sigma's names
    assert flat["ImageLoaded"] == "C:\\Windows\\System32\\dbgcore.dll"
    assert flat["process.name"] == "WerFaultSecure.exe"
    assert flat["event.category"] == ["process"] and flat["host.name"] == "swachchhanda"
    assert event.timestamp == from_json[0].timestamp
    assert event.dedupe_key == from_json[0].dedupe_key  # the same record, however it came


def test_every_sigma_regression_event_parses():
    count = 0
    for path in sorted(REGRESSION.rglob("*.evtx")) + sorted(REGRESSION.rglob("*.json")):
        for chunk in chunks(path.name, path.read_bytes(), "windows"):
            results = list(parser_for("windows")(chunk.records, _context()))
            assert not chunk.rejected, path
            assert not [r for r in results if isinstance(r, Rejected)], path
            count += len(results)
    assert count > 400


def test_otrf_windows_security_and_sysmon_exports():
    archive = DATA / "otrf/datasets/atomic/windows/credential_access/host/cmd_sam_copy_esentutl.zip"
    with zipfile.ZipFile(archive) as z:
        lines = z.read(z.namelist()[0]).decode().splitlines()
    results = parse_lines("windows", [json.loads(line) for line in lines])
    assert len(results) == len(lines) and not [r for r in results if isinstance(r, Rejected)]
    wfp = next(r for r in results if r.event_type == "windows_5156")
    flat = flatten(wfp.fields)
    assert (flat["source.ip"], flat["destination.ip"], flat["destination.port"]) == (
        "192.168.2.5",
        "168.63.129.16",
        80,
    )
    assert flat["host.name"] == "WORKSTATION5" and flat["event.outcome"] == "success"
    process = next(r for r in results if r.event_type == "sysmon_1")
    assert "esentutl" in flatten(process.fields)["CommandLine"].lower()


def test_winlogbeat_shape():
    record = {
        "@timestamp": "2026-11-28T08:00:00.000Z",
        "winlog": {
            "channel": "Security",
            "event_id": 4625,
            "computer_name": "dc-01",
            "provider_name": "Microsoft-Windows-Security-Auditing",
            "record_id": 99,
            "event_data": {
                "TargetUserName": "administrator",
                "IpAddress": "203.0.113.40",
                "IpPort": "51515",
                "LogonType": "3",
            },
        },
    }
    event = parse_one("windows", record)
    flat = flatten(event.fields)
    assert event.event_type == "windows_4625"
    assert (flat["event.outcome"], flat["user.name"], flat["source.ip"]) == (
        "failure",
        "administrator",
        "203.0.113.40",
    )
    assert flat["TargetUserName"] == "administrator" and flat["EventID"] == 4625
    assert flat["winlog.logon.type"] == "3"


def test_explicit_credentials_4648_is_an_attempt_not_a_successful_logon() -> None:
    """SigmaHQ's recorded 4648 (runas to another user): the logon it announces succeeds
    or fails in an event of its own (4624/4625), so 4648 carries no outcome."""
    security = REGRESSION / "rules/windows/builtin/security"
    case = security / "win_security_explicit_credential_local_logon"
    [sample] = case.glob("*.json")
    event = parse_one("windows", json.loads(sample.read_text()))
    flat = flatten(event.fields)
    assert event.event_type == "windows_4648"
    assert flat["event.action"] == "logged-in-explicit"
    assert flat["event.category"] == ["authentication"]
    assert "event.outcome" not in flat and "event.type" not in flat
    assert flat["TargetUserName"] == "testuser" and flat["EventID"] == 4648


def test_4624_stays_a_successful_logon() -> None:
    record = {
        "@timestamp": "2026-11-28T08:00:05.000Z",
        "winlog": {
            "channel": "Security",
            "event_id": 4624,
            "computer_name": "dc-01",
            "record_id": 100,
            "event_data": {"TargetUserName": "administrator", "LogonType": "10"},
        },
    }
    flat = flatten(parse_one("windows", record).fields)
    assert (flat["event.action"], flat["event.outcome"]) == ("logged-in", "success")


@pytest.mark.parametrize(
    "record,reason",
    [
        ({"foo": "bar"}, "not a Windows event"),
        ({"EventID": "not a number", "Channel": "Security"}, "numeric EventID"),
    ],
)
def test_what_is_not_a_windows_event(record, reason):
    [result] = parse_lines("windows", [record])
    assert isinstance(result, Rejected) and reason in result.reason


CLOUDTRAIL_FIELDS = [
    "event.action",
    "event.provider",
    "event.id",
    "event.outcome",
    "cloud.region",
    "cloud.account.id",
    "user.name",
    "user.id",
    "user_agent.original",
    "source.address",
]


@pytest.mark.parametrize(
    "sample",
    [p.name for p in (BEATS / "x-pack/filebeat/module/aws/cloudtrail/test").glob("*-json.log")],
)
def test_cloudtrail_fields_match_elastics(sample):
    for line, expected in beats_pairs(f"x-pack/filebeat/module/aws/cloudtrail/test/{sample}"):
        event = parse_one("cloudtrail", json.loads(line))
        assert compare(event.fields, expected, CLOUDTRAIL_FIELDS) == [], line
        event_id = json.loads(line).get("eventID")
        assert event.dedupe_key == (f"cloudtrail:{event_id}" if event_id else None)
        assert event.fields["eventName"] == expected["event.action"]  # Sigma's names stay


def test_cloudtrail_files_with_a_records_array_and_failed_logins():
    body = json.dumps(
        {
            "Records": [
                json.loads(line)
                for line in (
                    BEATS / "x-pack/filebeat/module/aws/cloudtrail/test/console-login-json.log"
                )
                .read_text()
                .splitlines()
            ]
        }
    )
    results = []
    for chunk in chunks("trail.json", body.encode(), "cloudtrail"):
        results += list(parser_for("cloudtrail")(chunk.records, _context()))
    outcomes = {flatten(r.fields)["user.name"]: flatten(r.fields)["event.outcome"] for r in results}
    assert outcomes == {"JohnDoe": "success", "JaneDoe": "failure"}
    assert {flatten(r.fields)["event.category"][0] for r in results} == {"authentication"}
