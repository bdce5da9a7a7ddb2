"""The default rule pack (correlation/rulepack/), loaded as ``bootstrap`` loads it and fed
real log lines through the normal ingest path: every shipped rule fires on what it is
written for and stays quiet on the look-alike that is not an attack."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from correlation.models import CorrelationRule
from correlation.services import batch_correlate
from events.files import file_ingest
from events.health import report_silent_sources
from events.ingest import events_ingest
from events.models import IngestBatch, Source
from events.parsers import RawRecord
from incidents.models import Alert
from socapp.roof.bootstrap import BootstrapReport, ensure_rule_pack
from tests.conftest import client_for
from tests.factories import SourceFactory

ATTACKER = "198.51.100.9"


@pytest.fixture
def t0() -> datetime:
    """A recent minute, so events land in existing partitions and inside lateness."""
    return (timezone.now() - timedelta(hours=2)).replace(second=0, microsecond=0)


def ingest(fmt: str, records: list[Any], source: Source | None = None) -> Source:
    source = source or SourceFactory.create(format=fmt)
    result = events_ingest(
        source=source,
        records=[RawRecord(n, r) for n, r in enumerate(records, 1)],
        transport="api",
    )
    assert result.quarantined == 0, result
    batch_correlate(batch_id=result.batch_id)
    return source


def alerts(name: str) -> list[Alert]:
    return list(Alert.objects.filter(rule__sigma_name=name).order_by("triggered_at"))


def sshd(at: datetime, message: str, host: str = "srv1") -> str:
    return f"<38>1 {at.isoformat()} {host} sshd 1 - - {message}"


def failed(at: datetime, user: str = "root", ip: str = ATTACKER, host: str = "srv1") -> str:
    return sshd(at, f"Failed password for {user} from {ip} port 4242 ssh2", host)


def accepted(at: datetime, user: str = "root", ip: str = ATTACKER, host: str = "srv1") -> str:
    return sshd(at, f"Accepted password for {user} from {ip} port 4242 ssh2", host)


def windows(at: datetime, code: int, record: int, **data: Any) -> dict[str, Any]:
    return {
        "@timestamp": at.isoformat(),
        "winlog": {
            "channel": data.pop("channel", "Security"),
            "event_id": code,
            "computer_name": data.pop("computer", "dc-01"),
            "provider_name": "Microsoft-Windows-Security-Auditing",
            "record_id": record,
            "event_data": data,
        },
    }


def logon(at: datetime, code: int, record: int, logon_type: str = "3", **extra: Any) -> dict:
    data = {"TargetUserName": "administrator", "IpAddress": ATTACKER, "LogonType": logon_type}
    return windows(at, code, record, **{**data, **extra})


def conn(at: datetime, uid: str, src: str, dst: str, port: int, sent: int = 300) -> dict:
    return {
        "ts": at.timestamp(),
        "uid": uid,
        "id.orig_h": src,
        "id.orig_p": 50000,
        "id.resp_h": dst,
        "id.resp_p": port,
        "proto": "tcp",
        "duration": 0.2,
        "orig_bytes": max(0, sent - 60),
        "resp_bytes": 140,
        "conn_state": "SF",
        "orig_ip_bytes": sent,
        "resp_ip_bytes": 200,
    }


def dns(at: datetime, uid: str, query: str, src: str = "10.1.2.3") -> dict:
    return {
        "ts": at.timestamp(),
        "uid": uid,
        "id.orig_h": src,
        "id.orig_p": 5353,
        "id.resp_h": "10.0.0.53",
        "id.resp_p": 53,
        "proto": "udp",
        "query": query,
        "qtype_name": "A",
    }


def seconds(t0: datetime, *offsets: float) -> list[datetime]:
    return [t0 + timedelta(seconds=s) for s in offsets]


# -- bootstrap ----------------------------------------------------------------------


@pytest.mark.django_db
def test_bootstrap_loads_the_pack_once_and_keeps_an_admins_choices(pack):
    rules = CorrelationRule.objects.filter(origin__startswith="rulepack/")
    assert rules.count() >= 20 and all(r.is_active for r in rules)
    brute = rules.get(sigma_name="socapp_ssh_brute_force")
    assert brute.rule_type == "event_count" and brute.techniques == ["T1110.001"]
    brute.is_active = False
    brute.save()
    ensure_rule_pack(BootstrapReport())  # a second deploy
    brute.refresh_from_db()
    assert not brute.is_active and brute.version == 1
    assert rules.count() == CorrelationRule.objects.filter(origin__startswith="rulepack/").count()


@pytest.mark.django_db
def test_the_suspicious_domain_rule_carries_its_suppression_in_the_file(pack):
    rule = CorrelationRule.objects.get(sigma_name="socapp_suspicious_domain")
    assert (rule.suppression_mode, rule.suppression_window) == ("window", 3600)
    assert rule.suppress_by == ["source.ip", "dns.question.name"]


# -- authentication -----------------------------------------------------------------


@pytest.mark.django_db
def test_ssh_brute_force_fires_on_ten_failures_in_five_minutes(pack, t0):
    ingest("syslog", [failed(t) for t in seconds(t0, *range(0, 300, 30))])
    (alert,) = alerts("socapp_ssh_brute_force")
    assert alert.group_key == f"source.ip={ATTACKER}" and alert.count == 10
    assert alerts("socapp_ssh_auth_failure") == []  # base rules raise nothing themselves
    # the engine's alert is in the audit trail (written once, at the end of the batch)
    from socapp.audit import audit_verify
    from socapp.models import AuditEntry

    assert AuditEntry.objects.filter(action="alert.create", object_id=str(alert.pk)).exists()
    assert audit_verify() == []


@pytest.mark.django_db
def test_a_folded_brute_force_names_each_source_once(pack, t0, soc_admin):
    """Two relays forward the attacker's failures; three requests fold into one alert."""
    relay = ingest("syslog", [failed(t) for t in seconds(t0, *range(20))])
    ingest("syslog", [failed(t) for t in seconds(t0, *range(20, 40))], source=relay)
    other = ingest("syslog", [failed(t, host="srv2") for t in seconds(t0, *range(40, 50))])

    (alert,) = alerts("socapp_ssh_brute_force")
    assert alert.count == 50
    shown = client_for(soc_admin).get(f"/api/v1/alerts/{alert.pk}/").json()
    assert shown["details"]["sources"] == sorted([relay.name, other.name])


@pytest.mark.django_db
def test_ssh_brute_force_ignores_slow_failures_and_counts_an_attempt_once(pack, t0):
    slow = [failed(t) for t in seconds(t0, *range(0, 600, 60))]  # ten in ten minutes
    # five attempts logged twice each ("Invalid user", then "Failed password")
    doubled = []
    for t in seconds(t0 + timedelta(minutes=20), *range(0, 50, 10)):
        doubled += [
            sshd(t, f"Invalid user oracle from {ATTACKER} port 4242"),
            failed(t, "oracle"),
        ]
    ingest("syslog", slow + doubled)
    assert alerts("socapp_ssh_brute_force") == []


@pytest.mark.django_db
def test_ssh_brute_force_counts_each_attempt_once_in_an_older_openssh_log(
    pack: None, t0: datetime
) -> None:
    """Nine attempts as older and newer OpenSSH releases log them, each on up to eight
    lines: only the "Failed password" lines are attempts, so nine stay below ten."""
    lines = []
    for t in seconds(t0, *range(0, 90, 10)):
        lines += [
            sshd(t, f"reverse mapping checking getaddrinfo for x.example [{ATTACKER}] failed"),
            sshd(t, f"Invalid user oracle from {ATTACKER}"),
            sshd(t, "input_userauth_request: invalid user oracle [preauth]"),
            failed(t, "oracle"),
            sshd(
                t,
                f"error: maximum authentication attempts exceeded for invalid user oracle"
                f" from {ATTACKER} port 4242 ssh2 [preauth]",
            ),
            sshd(t, "Disconnecting: Too many authentication failures for oracle [preauth]"),
            sshd(
                t,
                f"PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh "
                f"ruser= rhost={ATTACKER}  user=oracle",
            ),
            sshd(t, f"Connection closed by {ATTACKER} [preauth]"),
        ]
    ingest("syslog", lines)
    assert alerts("socapp_ssh_brute_force") == []
    ingest("syslog", [failed(t0 + timedelta(seconds=95), "oracle")])
    (alert,) = alerts("socapp_ssh_brute_force")
    assert alert.count == 10


@pytest.mark.django_db
def test_windows_brute_force_fires_on_network_logon_failures(pack, t0):
    ingest("windows", [logon(t, 4625, n) for n, t in enumerate(seconds(t0, *range(10)))])
    (alert,) = alerts("socapp_windows_brute_force")
    assert alert.group_key == f"source.ip={ATTACKER}"


@pytest.mark.django_db
def test_windows_brute_force_ignores_interactive_logon_failures(pack, t0):
    ingest("windows", [logon(t, 4625, n, "2") for n, t in enumerate(seconds(t0, *range(10)))])
    assert alerts("socapp_windows_brute_force") == []


@pytest.mark.django_db
def test_ssh_brute_force_then_success_from_the_same_address(pack, t0):
    lines = [failed(t) for t in seconds(t0, *range(10))]
    ingest("syslog", [*lines, accepted(t0 + timedelta(minutes=3))])
    (alert,) = alerts("socapp_ssh_brute_force_success")
    assert alert.severity.name == "high" and alert.group_key == f"source.ip={ATTACKER}"


def intrusions_in_one_second(at: datetime, attackers: list[str]) -> list[str]:
    """A scripted intrusion per attacker: twelve refused passwords, then the one that
    works, all logged in the same second (syslog's timestamps have no finer resolution)."""
    lines = []
    for ip in attackers:
        lines += [failed(at, ip=ip) for _ in range(12)] + [accepted(at, ip=ip)]
    return lines


SCRIPTED = ["198.51.100.9", "198.51.100.10", "198.51.100.11", "203.0.113.5"]


@pytest.mark.django_db
def test_a_brute_force_and_its_success_in_the_same_second_follow_the_log_order(pack, t0):
    ingest("syslog", intrusions_in_one_second(t0, SCRIPTED))
    breaches = alerts("socapp_ssh_brute_force_success")
    assert sorted(a.group_key for a in breaches) == sorted(f"source.ip={ip}" for ip in SCRIPTED)


@pytest.mark.django_db
def test_an_uploaded_log_file_keeps_its_order_within_one_second(pack, t0):
    source = SourceFactory(format="syslog")
    text = "\n".join(intrusions_in_one_second(t0, SCRIPTED)) + "\n"
    report = file_ingest(source=source, name="auth.log", data=text.encode())
    assert report.problems == []
    for batch in IngestBatch.objects.filter(source=source, correlated_at__isnull=True):
        batch_correlate(batch_id=batch.pk)
    assert len(alerts("socapp_ssh_brute_force_success")) == len(SCRIPTED)


@pytest.mark.django_db
def test_a_success_logged_in_the_same_second_before_the_brute_force_is_not_a_breach(pack, t0):
    lines = [accepted(t0)] + [failed(t0) for _ in range(12)]
    ingest("syslog", lines)
    assert len(alerts("socapp_ssh_brute_force")) == 1
    assert alerts("socapp_ssh_brute_force_success") == []


@pytest.mark.django_db
def test_a_success_from_another_address_after_a_brute_force_is_not_a_breach(pack, t0):
    lines = [failed(t) for t in seconds(t0, *range(10))]
    ingest("syslog", [*lines, accepted(t0 + timedelta(minutes=3), ip="192.0.2.77")])
    assert len(alerts("socapp_ssh_brute_force")) == 1
    assert alerts("socapp_ssh_brute_force_success") == []


@pytest.mark.django_db
def test_windows_brute_force_then_success(pack, t0):
    failures = [logon(t, 4625, n) for n, t in enumerate(seconds(t0, *range(10)))]
    ingest("windows", [*failures, logon(t0 + timedelta(minutes=1), 4624, 99)])
    assert len(alerts("socapp_windows_brute_force_success")) == 1


@pytest.mark.django_db
def test_windows_success_before_the_brute_force_is_not_reported(pack, t0):
    failures = [logon(t, 4625, n) for n, t in enumerate(seconds(t0, *range(60, 70)))]
    ingest("windows", [logon(t0, 4624, 99), *failures])
    assert len(alerts("socapp_windows_brute_force")) == 1
    assert alerts("socapp_windows_brute_force_success") == []


@pytest.mark.django_db
def test_password_spraying_across_ssh_and_windows(pack, t0):
    ingest("syslog", [failed(t, f"user{n}") for n, t in enumerate(seconds(t0, *range(5)))])
    ingest(
        "windows",
        [
            logon(t, 4625, n, TargetUserName=f"win{n}")
            for n, t in enumerate(seconds(t0, *range(10, 15)))
        ],
    )
    (alert,) = alerts("socapp_password_spraying")
    assert alert.details["metric"] == 10


@pytest.mark.django_db
def test_many_failures_for_one_account_are_not_spraying(pack, t0):
    ingest("syslog", [failed(t, "admin") for t in seconds(t0, *range(12))])
    assert alerts("socapp_password_spraying") == []
    assert len(alerts("socapp_ssh_brute_force")) == 1


# -- lateral movement ---------------------------------------------------------------


@pytest.mark.django_db
def test_one_account_logging_on_to_five_windows_hosts(pack, t0):
    events = [
        logon(t, 4624, n, computer=f"ws-{n}", TargetUserName="svc-x")
        for n, t in enumerate(seconds(t0, *range(0, 500, 100)))
    ]
    ingest("windows", events)
    (alert,) = alerts("socapp_account_many_hosts")
    assert alert.group_key == "user.name=svc-x"


@pytest.mark.django_db
def test_four_hosts_or_local_logons_are_not_lateral_movement(pack, t0):
    four = [logon(t, 4624, n, computer=f"ws-{n}") for n, t in enumerate(seconds(t0, *range(4)))]
    local = [
        logon(t, 4624, 10 + n, "2", computer=f"pc-{n}")
        for n, t in enumerate(seconds(t0, *range(9)))
    ]
    ingest("windows", four + local)
    assert alerts("socapp_account_many_hosts") == []


@pytest.mark.django_db
def test_one_account_logging_in_to_five_hosts_over_ssh(pack, t0):
    ingest("syslog", [accepted(t, host=f"web-{n}") for n, t in enumerate(seconds(t0, *range(5)))])
    assert len(alerts("socapp_account_many_ssh_hosts")) == 1


@pytest.mark.django_db
def test_repeated_ssh_logins_to_one_host_are_not_lateral_movement(pack, t0):
    ingest("syslog", [accepted(t) for t in seconds(t0, *range(8))])
    assert alerts("socapp_account_many_ssh_hosts") == []


@pytest.mark.django_db
def test_psexec_service_installation_is_remote_service_creation(pack, t0):
    service = windows(
        t0,
        7045,
        1,
        channel="System",
        ServiceName="PSEXESVC",
        ImagePath="%SystemRoot%\\PSEXESVC.exe",
    )
    ingest("windows", [service])
    (alert,) = alerts("socapp_remote_service_creation")
    assert alert.severity.name == "high" and "T1021.002" in alert.details["techniques"]


@pytest.mark.django_db
def test_an_ordinary_service_installation_is_not_reported(pack, t0):
    service = windows(
        t0,
        7045,
        1,
        channel="System",
        ServiceName="Backup Agent",
        ImagePath='"C:\\Program Files\\Backup\\agent.exe" --service',
    )
    ingest("windows", [service])
    assert alerts("socapp_remote_service_creation") == []


# -- network ------------------------------------------------------------------------


@pytest.mark.django_db
def test_port_scan_of_one_host(pack, t0):
    probes = [
        conn(t, f"P{n}", "10.9.9.9", "10.1.1.1", 1000 + n)
        for n, t in enumerate(seconds(t0, *[x * 2 for x in range(25)]))
    ]
    ingest("zeek", probes)
    (alert,) = alerts("socapp_port_scan")
    assert alert.group_key == "source.ip=10.9.9.9, destination.ip=10.1.1.1"


@pytest.mark.django_db
def test_twenty_four_ports_or_a_slow_sweep_is_not_a_port_scan(pack, t0):
    few = [conn(t, f"F{n}", "10.9.9.9", "10.1.1.1", 1000 + n) for n, t in enumerate([t0] * 24)]
    slow = [
        conn(t, f"S{n}", "10.9.9.8", "10.1.1.1", 2000 + n)
        for n, t in enumerate(seconds(t0, *[x * 5 for x in range(30)]))
    ]
    ingest("zeek", few + slow)
    assert alerts("socapp_port_scan") == []


@pytest.mark.django_db
def test_horizontal_scan_of_one_port(pack, t0):
    probes = [
        conn(t, f"H{n}", "10.9.9.9", f"10.1.2.{n}", 445)
        for n, t in enumerate(seconds(t0, *range(20)))
    ]
    ingest("zeek", probes)
    assert len(alerts("socapp_horizontal_scan")) == 1


@pytest.mark.django_db
def test_many_clients_of_one_port_are_not_a_horizontal_scan(pack, t0):
    clients = [
        conn(t, f"C{n}", f"10.3.3.{n}", f"10.1.2.{n}", 445)
        for n, t in enumerate(seconds(t0, *range(25)))
    ]
    ingest("zeek", clients)
    assert alerts("socapp_horizontal_scan") == []


@pytest.mark.django_db
def test_data_exfiltration_over_half_a_gigabyte_in_an_hour(pack, t0):
    uploads = [
        conn(t, f"X{n}", "10.2.2.2", "203.0.113.50", 443, sent=130_000_000)
        for n, t in enumerate(seconds(t0, 0, 600, 1200, 1800))
    ]
    ingest("zeek", uploads)
    (alert,) = alerts("socapp_data_exfiltration")
    assert alert.details["metric"] == 520_000_000


@pytest.mark.django_db
def test_large_internal_transfers_are_not_exfiltration(pack, t0):
    backups = [
        conn(t, f"B{n}", "10.2.2.2", "10.0.0.100", 443, sent=300_000_000)
        for n, t in enumerate(seconds(t0, 0, 600))
    ]
    ingest("zeek", backups)
    assert alerts("socapp_data_exfiltration") == []


@pytest.mark.django_db
def test_beaconing_small_regular_connections_to_one_destination(pack, t0):
    jitter = [0, 4, -3, 6, -5, 2]  # a check-in every minute, give or take a few seconds
    beacons = [
        conn(t, f"K{n}", "10.4.4.4", "203.0.113.66", 8443, sent=512)
        for n, t in enumerate(seconds(t0, *[x * 60 + jitter[x % 6] for x in range(30)]))
    ]
    ingest("zeek", beacons)
    (alert,) = alerts("socapp_beaconing")
    assert alert.group_key == (
        "source.ip=10.4.4.4, destination.ip=203.0.113.66, destination.port=8443"
    )


@pytest.mark.django_db
def test_many_irregular_small_connections_are_not_beaconing(pack, t0):
    # a person clicking around one site: bursts of requests, then minutes of nothing
    moments = [burst * 600 + click * 7 for burst in range(6) for click in range(6)]
    visits = [
        conn(t, f"V{n}", "10.4.4.5", "203.0.113.67", 443, sent=700)
        for n, t in enumerate(seconds(t0, *moments))
    ]
    ingest("zeek", visits)
    assert alerts("socapp_beaconing") == []


@pytest.mark.django_db
def test_large_downloads_to_one_destination_are_not_beaconing(pack, t0):
    transfers = [
        conn(t, f"D{n}", "10.4.4.4", "203.0.113.66", 443, sent=50_000)
        for n, t in enumerate(seconds(t0, *[x * 60 for x in range(30)]))
    ]
    ingest("zeek", transfers)
    assert alerts("socapp_beaconing") == []


@pytest.mark.django_db
def test_a_dynamic_dns_lookup_raises_one_alert_per_host_and_domain(pack, t0):
    source = ingest("zeek", [dns(t0, "D1", "c2.duckdns.org")])
    ingest("zeek", [dns(t0 + timedelta(minutes=5), "D2", "c2.duckdns.org")], source)
    (alert,) = alerts("socapp_suspicious_domain")
    assert alert.suppressed_count == 1
    assert alert.group_key == "source.ip=10.1.2.3, dns.question.name=c2.duckdns.org"


@pytest.mark.django_db
def test_ordinary_domains_are_not_reported(pack, t0):
    ingest("zeek", [dns(t0, "D1", "www.example.org"), dns(t0, "D2", "duckdns.org.example")])
    assert alerts("socapp_suspicious_domain") == []


# -- IDS signatures -----------------------------------------------------------------


def eve_alert(at: datetime, sid: int, signature: str, **alert: Any) -> dict[str, Any]:
    return {
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000",
        "flow_id": sid * 10 + at.second,
        "event_type": "alert",
        "src_ip": ATTACKER,
        "src_port": 41414,
        "dest_ip": "10.5.5.5",
        "dest_port": 443,
        "proto": "TCP",
        "alert": {"signature_id": sid, "signature": signature, "severity": 1, **alert},
    }


@pytest.mark.django_db
def test_an_ids_signature_naming_a_cve_raises_one_alert_per_attacker_and_target(pack, t0):
    exploit = [
        eve_alert(t, 2046001, "Exploit attempt", metadata={"cve": ["CVE_2023_4863"]})
        for t in seconds(t0, 0, 30)
    ]
    ingest("suricata", exploit)
    (alert,) = alerts("socapp_ids_cve_alert")
    assert alert.severity.name == "medium" and alert.suppressed_count == 1
    assert alert.group_key == f"source.ip={ATTACKER}, destination.ip=10.5.5.5, rule.id=2046001"


@pytest.mark.django_db
def test_ids_signatures_without_a_cve_raise_nothing(pack, t0):
    ingest("suricata", [eve_alert(t0, 2016683, "ET SCAN Zmap User-Agent (Inbound)")])
    assert alerts("socapp_ids_cve_alert") == []


# -- source health ------------------------------------------------------------------


def health_batches() -> list[Any]:
    from events.models import IngestBatch

    return list(IngestBatch.objects.filter(transport="health").values_list("pk", flat=True))


@pytest.mark.django_db
def test_a_source_gone_silent_raises_an_alert_for_its_team_once(pack):
    quiet = SourceFactory(
        configuration={"silent_after_minutes": 15},
        last_seen=timezone.now() - timedelta(minutes=40),
    )
    assert report_silent_sources() == 1
    assert report_silent_sources() == 0  # the same silence is recorded once
    for batch_id in health_batches():
        batch_correlate(batch_id=batch_id)
    (alert,) = alerts("socapp_source_silent")
    assert alert.team_id == quiet.team_id
    event = alert.correlation.event_links.get()
    from events.models import Event

    stored = Event.objects.get(event_id=event.event_id)
    assert stored.normalized_data["observer"]["name"] == quiet.name


@pytest.mark.django_db
def test_sources_heard_recently_or_not_watched_stay_quiet(pack):
    SourceFactory(configuration={"silent_after_minutes": 15}, last_seen=timezone.now())
    SourceFactory(last_seen=timezone.now() - timedelta(days=3))  # no setting: not watched
    SourceFactory(
        configuration={"silent_after_minutes": 15},
        last_seen=timezone.now() - timedelta(days=3),
        is_active=False,
    )
    assert report_silent_sources() == 0
    assert alerts("socapp_source_silent") == []
