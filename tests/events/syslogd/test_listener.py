"""manage.py syslogd with real senders: util-linux `logger` (UDP, TCP, octet counting),
Debian's rsyslog forwarding with omfwd (TCP octet-counted RFC 5424 and UDP RFC 3164),
and a TLS client. The listener runs as its own process against this test's database."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from events.models import Event, QuarantinedRecord, Source
from scripts.processes import (
    ProcessGroup,
    free_port,
    port_accepts,
    start,
    start_syslogd,
    stop,
    wait_until,
)
from socapp.models import Team
from tests.conftest import app_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Syslogd:
    def __init__(
        self,
        process_group: ProcessGroup,
        tmp_path: Path,
        *extra: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.udp, self.tcp = free_port(), free_port()
        # every TCP port it was given must accept before a test talks to it
        self.tcp_ports = [self.tcp]
        if "--tls-port" in extra:
            self.tcp_ports.append(int(extra[extra.index("--tls-port") + 1]))
        self.log = tmp_path / "syslogd.log"
        options = ("--host", "127.0.0.1", "--udp-port", str(self.udp), "--tcp-port", str(self.tcp))
        self.proc = process_group.add(
            start_syslogd(
                *options, "--flush-seconds", "0.3", *extra, env=env or app_env(), output=self.log
            )
        )
        wait_until(self._listening, timeout=30, what=f"syslogd ({self.output()})")

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"syslogd exited: {self.output()}")
        return all(port_accepts(port, timeout=0.5) for port in self.tcp_ports)

    def output(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""


def stored(text: str, timeout: float = 20) -> Event:
    found = wait_until(
        lambda: Event.objects.filter(raw_data__contains=text).first(),
        timeout=timeout,
        what=f"an event containing {text!r}",
    )
    assert found is not None  # wait_until returns only what it waited for
    return found


@pytest.fixture
def listener(process_group, tmp_path, reference_data):
    return Syslogd(process_group, tmp_path)


def logger(*args: str) -> None:
    subprocess.run(["logger", *args], check=True, timeout=10)


def test_logger_over_udp_and_tcp(listener):
    logger(
        "--rfc5424",
        "-n",
        "127.0.0.1",
        "-P",
        str(listener.udp),
        "-d",
        "-t",
        "sshd",
        "Failed password for root from 203.0.113.50 port 4022 ssh2",
    )
    udp = stored("203.0.113.50")
    assert udp.event_type == "ssh_login_failed"
    assert str(udp.source_ip) == "203.0.113.50"
    assert udp.normalized_data["process"]["name"] == "sshd"
    logger(
        "--rfc5424",
        "-n",
        "127.0.0.1",
        "-P",
        str(listener.tcp),
        "-T",
        "-t",
        "sudo",
        "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
    )
    tcp = stored("COMMAND=/usr/bin/id")
    assert tcp.event_type == "sudo_command"
    assert tcp.normalized_data["user"]["name"] == "alice"
    logger(
        "-n",
        "127.0.0.1",
        "-P",
        str(listener.tcp),
        "-T",
        "--octet-count",
        "-t",
        "app",
        "octet counted over tcp",
    )
    stored("octet counted over tcp")
    # No sender was named anywhere: everything went to the catch-all source.
    assert {e.source.name for e in Event.objects.select_related("source")} == {
        "syslog-unknown-senders"
    }


def test_senders_map_to_their_source_by_address_or_hostname(
    process_group, tmp_path, reference_data
):
    team = Team.objects.get(name="SOC")
    Source.objects.create(
        name="loopback-hosts", format="syslog", team=team, senders=["127.0.0.0/8"]
    )
    Source.objects.create(name="named-host", format="syslog", team=team, senders=["web-07"])
    listener = Syslogd(process_group, tmp_path)
    logger("-n", "127.0.0.1", "-P", str(listener.tcp), "-T", "-t", "app", "mapped by address")
    assert stored("mapped by address").source.name == "loopback-hosts"


def send_tcp(port: int, *messages: str) -> None:
    """RFC 5424 messages with a HOSTNAME of our choosing (logger cannot set one)."""
    with socket.create_connection(("127.0.0.1", port)) as tcp:
        for message in messages:
            tcp.sendall(message.encode() + b"\n")


def test_hostname_mapping_and_refusing_unknown_senders(process_group, tmp_path, reference_data):
    team = Team.objects.get(name="SOC")
    Source.objects.create(name="named-host", format="syslog", team=team, senders=["web-07"])
    listener = Syslogd(process_group, tmp_path, "--unknown-senders", "refuse")
    send_tcp(
        listener.tcp,
        "<14>1 2026-11-28T10:00:00Z web-07 app - - - mapped by hostname",
        "<14>1 2026-11-28T10:00:01Z stranger app - - - from nobody we know",
        "<14>1 2026-11-28T10:00:02Z WEB-07 app - - - second from web-07",
    )
    assert stored("mapped by hostname").source.name == "named-host"
    stored("second from web-07")
    assert not Event.objects.filter(raw_data__contains="from nobody we know").exists()
    assert not Source.objects.filter(name="syslog-unknown-senders").exists()


@pytest.mark.skipif(shutil.which("rsyslogd") is None, reason="rsyslog is installed by make test")
def test_rsyslog_forwarding_with_omfwd(listener, tmp_path):
    workdir = tmp_path / "rsyslog"
    workdir.mkdir()
    config = workdir / "rsyslog.conf"
    config.write_text(f"""
global(workDirectory="{workdir}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{workdir}/log.sock" CreatePath="on")
action(type="omfwd" target="127.0.0.1" port="{listener.tcp}" protocol="tcp"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="{listener.udp}" protocol="udp"
       template="RSYSLOG_TraditionalForwardFormat")
""")
    rsyslog = start(
        ["rsyslogd", "-n", "-f", str(config), "-i", str(workdir / "pid")],
        env=os.environ,
        output=workdir / "rsyslogd.log",
    )
    try:
        wait_until(lambda: (workdir / "log.sock").exists(), timeout=15, what="rsyslog's socket")
        logger(
            "-u",
            str(workdir / "log.sock"),
            "-t",
            "sshd",
            "Invalid user oracle from 192.0.2.77 port 5151",
        )
        wait_until(
            lambda: Event.objects.filter(raw_data__contains="192.0.2.77").count() >= 2,
            timeout=30,
            what="both forwarded copies",
        )
        copies = Event.objects.filter(raw_data__contains="192.0.2.77")
        assert {e.event_type for e in copies} == {"ssh_invalid_user"}
        versions = {e.normalized_data["log"]["syslog"].get("version") for e in copies}
        assert versions == {"1", None}  # one RFC 5424 copy (TCP), one RFC 3164 copy (UDP)
    finally:
        stop(rsyslog, timeout=10)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(tz=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_with_octet_counting(process_group, tmp_path, reference_data):
    cert, key = _self_signed(tmp_path)
    tls_port = free_port()
    Syslogd(
        process_group, tmp_path, "--tls-port", str(tls_port), "--cert", str(cert), "--key", str(key)
    )
    context = ssl.create_default_context(cafile=str(cert))
    message = (
        b"<38>1 2026-11-28T10:00:00Z tls-host sshd 4 - - "
        b"Accepted publickey for ops from 198.51.100.4 port 50000 ssh2"
    )
    with (
        socket.create_connection(("127.0.0.1", tls_port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"%d " % len(message) + message)
    event = stored("Accepted publickey for ops")
    assert event.event_type == "ssh_login_accepted"
    assert event.normalized_data["host"]["hostname"] == "tls-host"


def test_hostile_senders_do_not_stop_the_listener(listener):
    with socket.create_connection(("127.0.0.1", listener.tcp)) as tcp:
        tcp.sendall(b"\x00\xff\xfe" * 1000 + b"\n")
        tcp.sendall(b"99999999 " + b"x" * 70000)  # an oversized octet-counted frame
    with socket.create_connection(("127.0.0.1", listener.tcp)) as tcp:
        tcp.sendall(b"123 truncated")  # the connection closes inside this frame
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.sendto(b"\x00" * 2000, ("127.0.0.1", listener.udp))
    udp.sendto(b"<13>" + b"\xc3\x28" * 500, ("127.0.0.1", listener.udp))
    udp.close()
    time.sleep(1)
    assert listener.proc.poll() is None, listener.output()
    logger("-n", "127.0.0.1", "-P", str(listener.tcp), "-T", "-t", "app", "still listening")
    stored("still listening")
    reasons = set(QuarantinedRecord.objects.values_list("reason", flat=True))
    assert any("exceeds" in r for r in reasons)
    assert any("closed inside an octet-counted frame" in r for r in reasons)


def test_sigterm_stores_what_is_buffered(process_group, tmp_path, reference_data):
    listener = Syslogd(process_group, tmp_path, "--flush-seconds", "30", "--batch-size", "10000")
    for n in range(20):
        logger("-n", "127.0.0.1", "-P", str(listener.udp), "-t", "app", f"buffered message {n}")
    time.sleep(0.5)
    assert not Event.objects.filter(raw_data__contains="buffered message").exists()
    listener.proc.terminate()
    listener.proc.wait(timeout=20)
    assert Event.objects.filter(raw_data__contains="buffered message").count() == 20
