"""CEF against Elastic's expected documents; LEEF against the format specification."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from events.parsers import Rejected
from tests.events.oracle import beats_pairs, compare, flatten, parse_lines, parse_one

CEF_FIELDS = [
    "cef.version",
    "cef.device.vendor",
    "cef.device.product",
    "cef.device.version",
    "cef.device.event_class_id",
    "cef.name",
    "cef.severity",
    "source.ip",
    "source.port",
    "destination.ip",
    "destination.port",
    "network.transport",
    "url.original",
    "http.request.method",
    "http.request.referrer",
    "observer.vendor",
    "observer.product",
    "observer.version",
    "event.code",
    "event.id",
    "source.service.name",
    "destination.nat.ip",
    "source.nat.ip",
    "source.nat.port",
    "cef.extensions.sourceAddress",
    "cef.extensions.destinationPort",
    "cef.extensions.requestUrl",
    "cef.extensions.deviceCustomString5",
    "cef.extensions.deviceCustomString5Label",
]


@pytest.mark.parametrize(
    "sample",
    [
        "x-pack/filebeat/module/cef/log/test/cef.log",
        "x-pack/filebeat/module/cef/log/test/checkpoint.log",
        "x-pack/filebeat/module/cef/log/test/fp-ngfw-smc.log",
    ],
)
def test_cef_fields_match_elastics(sample):
    from events.parsers.base import TRANSPORTS

    pairs = beats_pairs(sample)
    for line, expected in pairs:
        # Elastic leaves IANA protocol numbers as they are ("6"); we name them ("tcp").
        if str(expected.get("network.transport", "")).isdigit():
            expected = {**expected, "network.transport": TRANSPORTS[expected["network.transport"]]}
        event = parse_one("cef", line)
        assert compare(event.fields, expected, CEF_FIELDS) == [], line


def test_cef_escapes_and_spaces_in_values():
    line = (
        r"CEF:0|Acme|Fw \| Edge|2.1|100|Blocked a\\b|8|src=10.0.0.1 msg=a value with "
        r"spaces and \= equals cs1=C:\\temp\\x.exe cs1Label=Path suser=alice"
    )
    event = parse_one("cef", line)
    flat = flatten(event.fields)
    assert flat["cef.device.product"] == "Fw | Edge"
    assert flat["cef.name"] == "Blocked a\\b"
    assert flat["message"] == "a value with spaces and = equals"
    assert flat["cef.extensions.deviceCustomString1"] == "C:\\temp\\x.exe"
    assert (flat["user.name"], flat["source.ip"], flat["event.severity"]) == (
        "alice",
        "10.0.0.1",
        8,
    )


def test_cef_over_syslog_takes_the_syslog_time_and_host():
    line = "<134>Nov 27 09:15:02 fw-01 CEF:0|Acme|Fw|1|7|Port scan|5|src=198.51.100.3 dpt=23"
    event = parse_one("cef", line, received_at=datetime(2026, 11, 28, tzinfo=UTC))
    assert event.timestamp == datetime(2026, 11, 27, 9, 15, 2, tzinfo=UTC)
    assert event.fields["host"]["hostname"] == "fw-01"
    assert event.fields["destination"]["port"] == 23


def test_cef_device_time_formats():
    epoch = parse_one("cef", "CEF:0|A|B|1|1|x|1|rt=1543270652000")
    assert epoch.timestamp == datetime(2018, 11, 26, 22, 17, 32, tzinfo=UTC)
    text = parse_one("cef", "CEF:0|A|B|1|1|x|1|rt=Jan 17 2020 08:52:10")
    assert text.timestamp == datetime(2020, 1, 17, 8, 52, 10, tzinfo=UTC)


def test_the_decode_cef_samples_parse():
    from tests.events.oracle import BEATS

    lines = (BEATS / "x-pack/filebeat/processors/decode_cef/testdata/samples.log").read_text()
    results = parse_lines("cef", lines.splitlines())
    assert results and not [r for r in results if isinstance(r, Rejected)]
    trend = next(r for r in results if "Eicar" in r.raw)
    assert trend.fields["cef"]["extensions"]["TrendMicroDsFileSHA256"].startswith("275A021B")


@pytest.mark.parametrize(
    "line,reason",
    [
        ("no header here", "no 'CEF:' header"),
        ("CEF:0|only|three", "of its 7"),
    ],
)
def test_not_cef(line, reason):
    [result] = parse_lines("cef", [line])
    assert isinstance(result, Rejected) and reason in result.reason


def test_leef_1_with_tabs():
    """The example from IBM's LEEF 1.0 format guide."""
    line = (
        "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\t"
        "sev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black\tproto=6"
    )
    flat = flatten(parse_one("leef", line).fields)
    assert flat["observer.vendor"] == "Microsoft"
    assert flat["event.code"] == "15345"
    assert (flat["source.ip"], flat["source.port"]) == ("192.0.2.0", 81)
    assert (flat["destination.ip"], flat["destination.port"]) == ("172.50.123.1", 21)
    assert (flat["user.name"], flat["event.severity"], flat["network.transport"]) == (
        "joe.black",
        5,
        "tcp",
    )


def test_leef_2_with_its_own_delimiter_and_device_time():
    line = (
        "<13>Jan 18 11:07:53 host LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^"
        "dst=10.0.0.5^sev=5^devTime=Jan 18 2026 11:07:53^devTimeFormat=MMM dd yyyy HH:mm:ss^"
        "srcPort=49152^dstPort=3389"
    )
    event = parse_one("leef", line)
    flat = flatten(event.fields)
    assert (flat["source.ip"], flat["destination.port"]) == ("10.0.1.8", 3389)
    assert event.timestamp == datetime(2026, 1, 18, 11, 7, 53, tzinfo=UTC)
    hex_delimiter = parse_one("leef", "LEEF:2.0|V|P|1|7|x7C|src=10.1.1.1|dst=10.2.2.2")
    assert flatten(hex_delimiter.fields)["destination.ip"] == "10.2.2.2"
