"""The syslog parser against real logs and the RFCs' own examples."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from events.parsers import Rejected
from tests.events.oracle import BEATS, DATA, beats_pairs, compare, flatten, parse_lines, parse_one

AUTH_FIELDS = [
    "event.action",
    "event.outcome",
    "event.category",
    "user.name",
    "source.ip",
    "source.port",
    "process.name",
    "process.pid",
    "system.auth.ssh.event",
    "system.auth.ssh.method",
    "system.auth.ssh.signature",
    "system.auth.ssh.dropped_ip",
    "system.auth.sudo.command",
    "system.auth.sudo.pwd",
    "system.auth.sudo.tty",
    "system.auth.sudo.error",
    "user.effective.name",
    "group.name",
    "group.id",
    "host.hostname",
]


@pytest.mark.parametrize(
    "sample",
    ["filebeat/module/system/auth/test/test.log", "filebeat/module/system/auth/test/timestamp.log"],
)
def test_system_auth_fields_land_where_elastic_puts_them(sample):
    pairs = beats_pairs(sample)
    assert pairs
    for line, expected in pairs:
        event = parse_one("syslog", line)
        assert compare(event.fields, expected, AUTH_FIELDS) == [], line


def test_sshd_events_carry_the_fields_an_analyst_pivots_on():
    event = parse_one(
        "syslog",
        "Feb 20 08:35:22 slave22 sshd[5774]: Failed password for "
        "invalid user admin from 216.160.83.57 port 29160 ssh2",
    )
    flat = flatten(event.fields)
    assert event.event_type == "ssh_login_failed"
    assert flat["event.outcome"] == "failure"
    assert flat["user.name"] == "admin"
    assert flat["source.ip"] == "216.160.83.57"
    assert flat["source.port"] == 29160
    assert flat["host.hostname"] == "slave22"
    assert flat["process.name"] == "sshd"
    assert flat["related.ip"] == ["216.160.83.57"]


IPTABLES_FIELDS = [
    "source.ip",
    "destination.ip",
    "source.port",
    "destination.port",
    "network.transport",
    "event.action",
    "source.mac",
    "destination.mac",
    "iptables.input_device",
    "iptables.ttl",
    "iptables.id",
    "observer.name",
]


@pytest.mark.parametrize(
    "sample",
    [
        "x-pack/filebeat/module/iptables/log/test/iptables.log",
        "x-pack/filebeat/module/iptables/log/test/ubiquiti.log",
    ],
)
def test_netfilter_lines(sample):
    for line, expected in beats_pairs(sample):
        event = parse_one("syslog", line)
        problems = compare(event.fields, expected, IPTABLES_FIELDS)
        # Ubiquiti prefixes ("[LAN_LOCAL-default-A]") name rules, not actions; Elastic maps
        # them with a device-specific table we do not copy.
        problems = [
            p for p in problems if not (p.startswith("event.action") and "ubiquiti" in sample)
        ]
        if "TTL=" not in line:  # lines cut in the sample: "TTL=126" became "TL=" or "L="
            problems = [p for p in problems if not p.startswith("iptables.ttl")]
        assert problems == [], line


def test_ufw_and_firewalld_prefixes_name_the_action():
    ufw = parse_one(
        "syslog",
        "Nov 28 10:00:00 host kernel: [ 1234.5678] [UFW BLOCK] IN=eth0 "
        "OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=198.51.100.7 "
        "DST=10.0.0.2 LEN=60 PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 SYN URGP=0",
    )
    assert ufw.event_type == "firewall_denied"
    assert flatten(ufw.fields)["event.action"] == "block"
    assert flatten(ufw.fields)["destination.port"] == 22
    firewalld = parse_one(
        "syslog",
        "Nov 28 10:00:01 host kernel: filter_IN_public_REJECT: "
        "IN=ens3 OUT= SRC=203.0.113.9 DST=10.0.0.2 PROTO=UDP SPT=5353 DPT=161",
    )
    assert firewalld.event_type == "firewall_denied"
    assert flatten(firewalld.fields)["network.transport"] == "udp"


AUDITD_FIELDS = [
    "auditd.log.sequence",
    "process.pid",
    "process.parent.pid",
    "process.executable",
    "process.name",
    "user.id",
    "user.audit.id",
    "source.ip",
]


def test_auditd_records():
    pairs = beats_pairs("filebeat/module/auditd/log/test/test.log")
    for line, expected in pairs:
        event = parse_one("syslog", line)
        problems = compare(event.fields, expected, AUDITD_FIELDS)
        # README: document 3's input had addr=216.160.83.61, the log has 96.241.146.97.
        problems = [p for p in problems if "216.160.83.61" not in p]
        assert problems == [], line
        assert event.event_type.startswith("auditd_")


def test_auditd_login_failure_is_an_authentication_failure():
    event = parse_one(
        "syslog",
        "type=USER_LOGIN msg=audit(1489519256.192:19600329): pid=1 uid=0 "
        'auid=4294967295 ses=1 msg=\'op=login acct="root" exe="/usr/sbin/sshd" '
        "hostname=? addr=203.0.113.5 terminal=ssh res=failed'",
    )
    flat = flatten(event.fields)
    assert (flat["event.category"], flat["event.outcome"]) == (["authentication"], "failure")
    assert (flat["user.name"], flat["source.ip"]) == ("root", "203.0.113.5")
    assert event.timestamp == datetime.fromtimestamp(1489519256.192, tz=UTC)


def test_the_rfc_5424_examples():
    """RFC 5424 §6.5, examples 1-4."""
    (su,) = parse_lines(
        "syslog",
        [
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 "
            "- BOM'su root' failed for lonvick on /dev/pts/8"
        ],
    )
    flat = flatten(su.fields)
    assert su.timestamp == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert (flat["log.syslog.facility.name"], flat["log.syslog.severity.name"]) == (
        "auth",
        "critical",
    )
    assert (flat["host.hostname"], flat["process.name"], flat["log.syslog.msgid"]) == (
        "mymachine.example.com",
        "su",
        "ID47",
    )
    (tz,) = parse_lines(
        "syslog",
        [
            "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 "
            "- - %% It's time to make the do-nuts."
        ],
    )
    assert tz.timestamp == datetime(2003, 8, 24, 12, 14, 15, 3, tzinfo=UTC)
    assert flatten(tz.fields)["process.pid"] == 8710
    (sd,) = parse_lines(
        "syslog",
        [
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - "
            'ID47 [exampleSDID@32473 iut="3" eventSource="Application" '
            'eventID="1011"] BOMAn application event log entry...'
        ],
    )
    assert sd.fields["log"]["syslog"]["structured_data"] == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}
    }
    (two,) = parse_lines(
        "syslog",
        [
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - "
            'ID47 [exampleSDID@32473 iut="3" eventSource="Application" '
            'eventID="1011"][examplePriority@32473 class="high"]'
        ],
    )
    assert set(two.fields["log"]["syslog"]["structured_data"]) == {
        "exampleSDID@32473",
        "examplePriority@32473",
    }


def test_escaped_structured_data_and_a_nil_timestamp():
    (event,) = parse_lines("syslog", ['<14>1 - host app - - [meta note="say \\"hi\\" \\] ok"] msg'])
    assert event.timestamp is None  # the time of receipt is used (normalize.py)
    assert event.fields["log"]["syslog"]["structured_data"]["meta"]["note"] == 'say "hi" ] ok'


def test_device_specific_structured_data_is_kept_as_the_message():
    line = (
        '<134>1 2020-03-30T07:20:35Z gw-da58d3 CheckPoint 7776 - [action:"Accept"; '
        'flags:"444676"; ifdir:"outbound"]'
    )
    event = parse_one("syslog", line)
    assert event.fields["message"].startswith('[action:"Accept"')
    assert event.fields["tags"] == ["syslog_structured_data_unparsed"]
    assert event.fields["host"]["hostname"] == "gw-da58d3"


def test_a_year_less_timestamp_takes_the_year_before_receipt():
    new_year = datetime(2027, 1, 1, 0, 5, tzinfo=UTC)
    event = parse_one("syslog", "Dec 31 23:59:00 h app: late line", received_at=new_year)
    assert event.timestamp == datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    skewed = parse_one("syslog", "Jan  1 00:20:00 h app: clock a bit ahead", received_at=new_year)
    assert skewed.timestamp.year == 2027


def test_a_zone_less_timestamp_is_in_the_sources_zone():
    berlin = ZoneInfo("Europe/Berlin")
    event = parse_one("syslog", "2026-07-01T12:00:00 h app: summer", time_zone=berlin)
    assert event.timestamp == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    explicit = parse_one("syslog", "2026-07-01T12:00:00+00:00 h app: explicit", time_zone=berlin)
    assert explicit.timestamp == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def test_continuation_lines_join_their_message():
    lines = (
        (DATA / "beats-module-tests/filebeat/module/system/syslog/test/darwin-syslog-sample.log")
        .read_text()
        .splitlines()
    )
    results = parse_lines("syslog", lines)
    assert not [r for r in results if isinstance(r, Rejected)]
    assert len(results) < len(lines)
    assert "\n" in results[0].fields["message"]


@pytest.mark.parametrize(
    "line,reason",
    [
        ("just some words", "no <PRI> and no timestamp"),
        ("<999>1 2003-10-11T22:14:15Z h a - - - x", "out of range"),
    ],
)
def test_what_is_not_syslog_is_rejected_with_a_reason(line, reason):
    [result] = parse_lines("syslog", [line])
    assert isinstance(result, Rejected)
    assert reason in result.reason


def test_wazuh_labelled_lines_parse_without_rejections():
    """Every 'log N pass =' line of Wazuh's labelled sshd, su, sudo, pam and syslog tests."""
    total = 0
    for name in ("sshd", "su", "sudo", "pam", "syslog", "systemd", "firewalld"):
        text = (DATA / "wazuh-ruleset-tests/tools/rules-testing/tests" / f"{name}.ini").read_text()
        lines = [
            line.split("=", 1)[1].strip()
            for line in text.splitlines()
            if line.startswith("log ") and " pass = " in line
        ]
        results = parse_lines("syslog", lines)
        rejected = [(r.reason, lines[r.number - 1]) for r in results if isinstance(r, Rejected)]
        assert rejected == [], name
        total += len(lines)
    assert total >= 40


def test_wazuh_sshd_brute_force_log_is_understood():
    text = (DATA / "wazuh-ruleset-tests/rules/log-entries/sshd").read_text(errors="replace")
    results = parse_lines("syslog", text.splitlines())
    events = [r for r in results if not isinstance(r, Rejected)]
    assert len(events) == len(results)
    failed = [e for e in events if e.event_type in ("ssh_login_failed", "ssh_invalid_user")]
    assert len(failed) > 10
    assert all(flatten(e.fields).get("source.ip") for e in failed)


# One LogHub-style intrusion attempt as an older OpenSSH (before 7.x) writes it: every line
# is an sshd event now, and only the "Failed password" line is the failed attempt itself.
OLD_OPENSSH = [
    "Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for "
    "ns.marryaldkfaczcz.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!",
    "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
    "Dec 10 06:55:46 LabSZ sshd[24200]: input_userauth_request: invalid user webmaster [preauth]",
    "Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from "
    "173.234.31.186 port 38926 ssh2",
    "Dec 10 06:55:48 LabSZ sshd[24200]: Connection closed by 173.234.31.186 [preauth]",
]


def test_an_older_openssh_intrusion_attempt_is_sshd_events_line_by_line() -> None:
    events = [parse_one("syslog", line) for line in OLD_OPENSSH]
    flat = [flatten(e.fields) for e in events]
    assert [e.event_type for e in events] == [
        "ssh_reverse_mapping_failed",
        "ssh_invalid_user",
        "ssh_invalid_user",
        "ssh_login_failed",
        "ssh_disconnect",
    ]
    assert [f.get("system.auth.ssh.event") for f in flat] == [
        None,
        "Invalid",
        "Invalid",
        "Failed",
        None,
    ]
    reverse, _, userauth, _, closed = flat
    assert reverse["source.ip"] == "173.234.31.186"
    assert reverse["source.domain"] == "ns.marryaldkfaczcz.com"
    assert reverse["event.action"] == "ssh_reverse_mapping_failed"
    assert "event.outcome" not in reverse  # a DNS fact, not an authentication outcome
    assert userauth["user.name"] == "webmaster" and userauth["event.outcome"] == "failure"
    assert userauth["event.action"] == "ssh_login" and userauth["system.auth.ssh.preauth"]
    assert closed["event.action"] == "ssh_disconnect" and "event.outcome" not in closed
    assert closed["source.ip"] == "173.234.31.186" and "source.port" not in closed
    assert closed["system.auth.ssh.preauth"] is True


@pytest.mark.parametrize(
    ("line", "ip", "port", "reason"),
    [
        (
            "Dec 10 07:07:38 LabSZ sshd[24206]: Received disconnect from 52.80.34.196: "
            "11: Bye Bye [preauth]",
            "52.80.34.196",
            None,
            "Bye Bye",
        ),
        (
            "Dec 10 07:07:38 LabSZ sshd[24206]: Received disconnect from 2001:db8::7: "
            "11: Bye Bye [preauth]",
            "2001:db8::7",
            None,
            "Bye Bye",
        ),
        (
            "Jun 14 15:16:01 combo sshd[19939]: Received disconnect from 218.188.2.4 port "
            "52944:11: disconnected by user",
            "218.188.2.4",
            52944,
            "disconnected by user",
        ),
    ],
)
def test_disconnects_with_and_without_a_port(
    line: str, ip: str, port: int | None, reason: str
) -> None:
    flat = flatten(parse_one("syslog", line).fields)
    assert flat["event.action"] == "ssh_disconnect" and "event.outcome" not in flat
    assert flat["source.ip"] == ip and flat.get("source.port") == port
    assert flat["system.auth.ssh.disconnect_reason"] == reason


@pytest.mark.parametrize(
    ("line", "user", "ip", "port"),
    [
        (
            "Dec 10 09:12:34 LabSZ sshd[24490]: Disconnecting: Too many authentication "
            "failures for admin [preauth]",
            "admin",
            None,
            None,
        ),
        (
            "Dec 10 09:12:34 LabSZ sshd[24490]: Disconnecting: Too many authentication "
            "failures [preauth]",
            None,
            None,
            None,
        ),
        (
            "Mar  2 10:00:01 web1 sshd[812]: Disconnecting authenticating user root "
            "203.0.113.50 port 51234: Too many authentication failures [preauth]",
            "root",
            "203.0.113.50",
            51234,
        ),
        (
            "Mar  2 10:00:01 web1 sshd[812]: error: maximum authentication attempts exceeded "
            "for root from 203.0.113.50 port 51234 ssh2 [preauth]",
            "root",
            "203.0.113.50",
            51234,
        ),
    ],
)
def test_max_auth_tries_summaries(
    line: str, user: str | None, ip: str | None, port: int | None
) -> None:
    event = parse_one("syslog", line)
    flat = flatten(event.fields)
    assert event.event_type == "ssh_login_failed"
    assert flat["event.action"] == "ssh_login" and flat["event.outcome"] == "failure"
    # a summary of attempts already logged one by one: the pack does not count it again
    assert flat["system.auth.ssh.event"] == "MaxAuthTries"
    assert (flat.get("user.name"), flat.get("source.ip"), flat.get("source.port")) == (
        user,
        ip,
        port,
    )


def test_pam_more_authentication_failures() -> None:
    event = parse_one(
        "syslog",
        "Dec 10 07:28:03 LabSZ sshd[24245]: PAM 2 more authentication failures; logname= "
        "uid=0 euid=0 tty=ssh ruser= rhost=112.95.230.3  user=root",
    )
    flat = flatten(event.fields)
    assert event.event_type == "pam_auth_failure"
    assert flat["event.action"] == "pam_authentication" and flat["event.outcome"] == "failure"
    assert flat["user.name"] == "root" and flat["source.ip"] == "112.95.230.3"
    assert flat["system.auth.pam.more_failures"] == 2


def test_address_that_does_not_map_back() -> None:
    flat = flatten(
        parse_one(
            "syslog",
            "Oct 20 12:33:07 ar-agent sshd[3433]: Address 192.168.18.54 maps to "
            "nmap.18.168.192.in-addr.arpa, but this does not map back to the address - "
            "POSSIBLE BREAK-IN ATTEMPT!",
        ).fields
    )
    assert flat["event.action"] == "ssh_reverse_mapping_failed"
    assert flat["source.ip"] == "192.168.18.54"
    assert flat["source.domain"] == "nmap.18.168.192.in-addr.arpa"


def _shared_sshd_lines() -> list[str]:
    """Every sshd line of the shared data: Wazuh's brute-force log and labelled lines,
    Elastic's system/auth test log."""
    lines = (DATA / "wazuh-ruleset-tests/rules/log-entries/sshd").read_text(errors="replace")
    wazuh = (DATA / "wazuh-ruleset-tests/tools/rules-testing/tests/sshd.ini").read_text()
    labelled = [
        line.split("=", 1)[1].strip()
        for line in wazuh.splitlines()
        if line.startswith("log ") and " pass = " in line
    ]
    beats = (BEATS / "filebeat/module/system/auth/test/test.log").read_text()
    every = [*lines.splitlines(), *labelled, *beats.splitlines()]
    return [line for line in every if " sshd[" in line]


def test_share_of_shared_sshd_lines_left_as_plain_syslog() -> None:
    """The figure in docs/INGESTION.md: 20 of 376 (5 %), all messages outside the sshd
    vocabulary (debug lines, protocol errors, "Unable to negotiate")."""
    lines = _shared_sshd_lines()
    results = parse_lines("syslog", [*lines])
    plain = [line for line, r in zip(lines, results, strict=True) if r.event_type == "syslog"]
    assert len(lines) >= 376
    assert len(plain) <= 20, plain
    understood = (
        "POSSIBLE BREAK-IN",
        "Connection closed by",
        "Received disconnect",
        "input_userauth_request",
        "Too many authentication failures",
        "more authentication failures",
    )
    assert [line for line in plain if any(text in line for text in understood)] == []
