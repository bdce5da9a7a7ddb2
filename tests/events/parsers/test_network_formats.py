"""Suricata EVE, Zeek (JSON and TSV) and web access logs: real samples, Elastic's expected
documents where they exist."""

from __future__ import annotations

import contextlib
import ipaddress
import json

import pytest

from events.files import chunks
from events.parsers import Rejected
from events.parsers.base import ParseContext
from tests.events.oracle import BEATS, DATA, beats_pairs, compare, flatten, parse_lines, parse_one


def _same_ips(expected: dict, fields: list[str]) -> dict:
    """IPv6 addresses compare by value (Elastic keeps them as written)."""
    out = dict(expected)
    for name in fields:
        value = out.get(name)
        if isinstance(value, str) and ":" in value:
            with contextlib.suppress(ValueError):
                out[name] = str(ipaddress.ip_address(value))
    return out


SURICATA_FIELDS = [
    "source.ip",
    "source.port",
    "destination.ip",
    "destination.port",
    "network.transport",
    "network.protocol",
    "event.kind",
    "rule.id",
    "rule.name",
    "rule.category",
    "url.domain",
    "url.original",
    "url.path",
    "http.request.method",
    "http.response.status_code",
    "user_agent.original",
    "dns.question.name",
    "dns.question.type",
    "tls.client.server_name",
    "file.name",
    "file.size",
    "event.severity",
]


@pytest.mark.parametrize(
    "sample",
    [
        "x-pack/filebeat/module/suricata/eve/test/eve-small.log",
        "x-pack/filebeat/module/suricata/eve/test/eve-6.0.log",
    ],
)
def test_suricata_fields_match_elastics(sample):
    for line, expected in beats_pairs(sample):
        event = parse_one("suricata", json.loads(line))
        problems = compare(
            event.fields, _same_ips(expected, ["source.ip", "destination.ip"]), SURICATA_FIELDS
        )
        # README: document 3's input had http.hostname 192.168.86.85, the log has .28.
        problems = [p for p in problems if "192.168.86.85" not in p]
        assert problems == [], line


def test_suricata_real_alert_captures():
    results = []
    for path in sorted((DATA / "suricata" / "samples").glob("*/alerts-only.json")):
        results += parse_lines("suricata", json.loads(path.read_text()))
    assert len(results) > 400
    assert not [r for r in results if isinstance(r, Rejected)]
    alert = results[0]
    flat = flatten(alert.fields)
    assert alert.event_type == "suricata_alert" and flat["event.kind"] == "alert"
    assert flat["rule.name"] == "ET SCAN Potential SSH Scan"
    assert (flat["source.ip"], flat["destination.port"]) == ("222.186.56.46", 22)
    assert flat["alert.signature_id"] == 2001219  # EVE's own names stay too
    assert alert.dedupe_key  # flow id + time + signature: a re-send is a duplicate


ZEEK_FIELDS = [
    "source.ip",
    "source.port",
    "destination.ip",
    "destination.port",
    "network.transport",
    "network.protocol",
    "zeek.session_id",
    "event.id",
    "dns.question.name",
    "dns.question.type",
    "dns.question.class",
    "dns.response_code",
    "dns.resolved_ip",
    "http.request.method",
    "url.domain",
    "url.original",
    "http.response.status_code",
    "http.version",
    "tls.cipher",
    "tls.curve",
    "tls.established",
    "tls.version",
    "tls.version_protocol",
    "file.name",
    "file.path",
    "file.size",
    "user.name",
    "user.domain",
    "event.outcome",
    "zeek.connection.state",
    "network.bytes",
    "event.duration",
]


@pytest.mark.parametrize(
    "log", ["connection", "dns", "http", "ssl", "files", "kerberos", "smb_files", "dce_rpc"]
)
def test_zeek_json_fields_match_elastics(log):
    name = "connection" if log == "connection" else log
    sample = f"x-pack/filebeat/module/zeek/{log}/test/{name}-json.log"
    for line, expected in beats_pairs(sample):
        event = parse_one("zeek", json.loads(line))
        if log == "smb_files":  # Elastic's expected path has its backslashes escaped twice
            expected = {k: v for k, v in expected.items() if k != "file.path"}
        problems = compare(event.fields, expected, ZEEK_FIELDS)
        assert problems == [], line
        assert event.fields["event"]["dataset"].startswith("zeek.")


def test_zeek_underscored_ids_from_the_apt29_emulation():
    folder = DATA / "otrf/datasets/compound/apt29/day1/zeek/individual_zeek_logs"
    kinds = {}
    for path in sorted(folder.glob("*.log")):
        lines = path.read_text().splitlines()
        results = parse_lines("zeek", [json.loads(line) for line in lines if line.strip()])
        assert not [r for r in results if isinstance(r, Rejected)], path.name
        kinds[path.name] = {r.event_type for r in results}
        for result in results:
            if result.fields.get("source", {}).get("port"):
                assert "id.orig_h" in result.fields  # Sigma's names, the dotted way
    assert kinds["SCRANTON_dns.log"] == {"zeek_dns"}
    assert kinds["SCRANTON_kerberos.log"] == {"zeek_kerberos"}
    conn = parse_lines(
        "zeek", [json.loads((folder / "SCRANTON_conn.log").read_text().splitlines()[0])]
    )[0]
    assert flatten(conn.fields)["source.ip"] == "10.0.1.4"
    assert flatten(conn.fields)["destination.port"] == 53


ZEEK_TSV = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tdns
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\tquery\tqtype_name\trcode_name\tanswers
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tstring\tstring\tstring\tvector[string]
1547188415.857497\tCAcJw21BbVedgFnYH3\t192.168.86.167\t38339\t192.168.86.1\t53\tudp\t15209\texample.com\tA\tNOERROR\t93.184.216.34,93.184.216.35
1547188416.000000\tCAcJw21BbVedgFnYH4\t192.168.86.167\t38340\t192.168.86.1\t53\tudp\t15210\t-\t-\t-\t-
"""


def test_zeek_tsv_with_headers():
    results = parse_lines("zeek", ZEEK_TSV.splitlines())
    assert not [r for r in results if isinstance(r, Rejected)]
    first = flatten(results[0].fields)
    assert results[0].event_type == "zeek_dns"
    assert (first["dns.question.name"], first["dns.question.type"]) == ("example.com", "A")
    assert first["dns.resolved_ip"] == ["93.184.216.34", "93.184.216.35"]
    assert (first["source.ip"], first["destination.port"]) == ("192.168.86.167", 53)
    assert results[0].timestamp.timestamp() == pytest.approx(1547188415.857497)
    assert "dns" not in results[1].fields or "question" not in results[1].fields.get("dns", {})


def test_zeek_tsv_keeps_its_headers_across_file_chunks(monkeypatch):
    import events.files

    monkeypatch.setattr(events.files, "CHUNK_RECORDS", 3)
    data = (
        ZEEK_TSV
        + "".join(
            f"1547188417.{n:06d}\tC{n}\t10.0.0.{n}\t1000\t10.0.0.254\t53\tudp\t{n}\tq{n}.example\tA\tNOERROR\t-\n"
            for n in range(10)
        )
    ).encode()
    context = ParseContext(
        received_at=__import__("datetime").datetime.now(tz=__import__("datetime").UTC)
    )
    parsed = []
    for chunk in chunks("dns.log", data, "zeek"):
        parsed += list(
            __import__("events.parsers", fromlist=["x"]).parser_for("zeek")(chunk.records, context)
        )
    assert len(parsed) == 12 and not [r for r in parsed if isinstance(r, Rejected)]


@pytest.mark.parametrize(
    "line,reason",
    [
        ("1547188415.8\tCAc\t10.0.0.1", "before any '#fields' header"),
    ],
)
def test_zeek_tsv_without_headers_is_rejected(line, reason):
    [result] = parse_lines("zeek", [line])
    assert isinstance(result, Rejected) and reason in result.reason


ACCESS_FIELDS = [
    "source.ip",
    "source.address",
    "http.request.method",
    "url.original",
    "http.version",
    "http.response.status_code",
    "http.response.body.bytes",
    "http.request.referrer",
    "user_agent.original",
    "user.name",
    "event.outcome",
]


@pytest.mark.parametrize(
    "sample",
    ["filebeat/module/apache/access/test/test.log", "filebeat/module/nginx/access/test/test.log"],
)
def test_access_log_fields_match_elastics(sample):
    for line, expected in beats_pairs(sample):
        event = parse_one("access", line)
        expected = _same_ips(expected, ["source.ip", "source.address"])
        # An old expected file kept Apache's "-" (nothing) as a value; we leave such fields out.
        expected = {k: v for k, v in expected.items() if v != "-"}
        ours = dict(event.fields)
        if event.fields.get("source", {}).get("ip") and ":" in ours["source"]["address"]:
            ours = {
                **ours,
                "source": {
                    **ours["source"],
                    "address": str(ipaddress.ip_address(ours["source"]["address"])),
                },
            }
        assert compare(ours, expected, ACCESS_FIELDS) == [], line


def test_access_log_w3c_names_for_sigma():
    event = parse_one(
        "access",
        '203.0.113.9 - bob [10/Oct/2026:13:55:36 -0700] "GET '
        '/admin.php?cmd=id HTTP/1.1" 403 199 "-" "sqlmap/1.7"',
    )
    assert event.fields["cs-uri-stem"] == "/admin.php"
    assert event.fields["cs-uri-query"] == "cmd=id"
    assert event.fields["cs-user-agent"] == "sqlmap/1.7"
    assert event.fields["sc-status"] == 403 and event.fields["c-ip"] == "203.0.113.9"
    assert event.fields["event"]["outcome"] == "failure"


def test_json_arbitrary_and_ecs_shaped():
    arbitrary = parse_one(
        "json",
        {
            "time": "2026-11-28T10:00:00Z",
            "src_ip": "10.1.1.1",
            "dst_port": "443",
            "user": "carol",
            "action": "login",
        },
    )
    flat = flatten(arbitrary.fields)
    assert (flat["source.ip"], flat["destination.port"], flat["user.name"]) == (
        "10.1.1.1",
        443,
        "carol",
    )
    assert flat["src_ip"] == "10.1.1.1" and arbitrary.event_type == "login"
    ecs = parse_one(
        "json",
        {
            "@timestamp": "2026-11-28T10:00:00Z",
            "source.ip": "10.2.2.2",
            "event": {"action": "file-created"},
            "file.path": "/srv/x",
        },
    )
    assert ecs.fields["source"]["ip"] == "10.2.2.2" and ecs.fields["file"]["path"] == "/srv/x"
    assert ecs.event_type == "file-created"


def test_json_text_lines_that_are_not_json_are_rejected():
    [result] = parse_lines("json", ["{not json"])
    assert isinstance(result, Rejected) and "not JSON" in result.reason


def test_every_beats_sample_of_these_formats_parses_cleanly():
    checked = 0
    for fmt, pattern in (
        ("suricata", "x-pack/filebeat/module/suricata/eve/test/*.log"),
        ("zeek", "x-pack/filebeat/module/zeek/*/test/*.log"),
        ("access", "filebeat/module/*/access/test/*.log"),
    ):
        for path in BEATS.glob(pattern):
            for chunk in chunks(path.name, path.read_bytes(), fmt):
                results = list(
                    __import__("events.parsers", fromlist=["x"]).parser_for(fmt)(
                        chunk.records,
                        ParseContext(
                            received_at=__import__("datetime").datetime.now(
                                tz=__import__("datetime").UTC
                            )
                        ),
                    )
                )
                assert not chunk.rejected and not [r for r in results if isinstance(r, Rejected)], (
                    path
                )
                checked += len(results)
    assert checked > 40


def test_a_suricata_alert_names_at_most_twenty_cves_however_many_it_lists(monkeypatch):
    """A hostile EVE line may list any number of CVEs: only as many are read as kept."""
    from socapp import cve as cves

    seen: list[str] = []
    canonical = cves.canonical
    monkeypatch.setattr(cves, "canonical", lambda v: seen.append(v) or canonical(v))
    listed = [f"CVE-2021-{n:05d}" for n in range(50_000)]
    line = {
        "timestamp": "2026-12-07T10:00:00.000000+0000",
        "event_type": "alert",
        "src_ip": "45.9.148.20",
        "dest_ip": "10.0.0.5",
        "alert": {"signature": "ET EXPLOIT CVE-2023-4863", "metadata": {"cve": listed}},
    }
    doc = parse_one("suricata", json.dumps(line)).fields
    assert doc["vulnerability"]["id"] == listed[:20]
    assert len(seen) == 20  # the other 49,980 were never looked at
