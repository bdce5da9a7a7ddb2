"""The outbound-URL guard (socapp.netguard) against real local servers: hostile URLs
are refused before any connection is made (the servers count connections), allowed
ranges work, the checked address is the one connected to (DNS rebinding), every
redirect hop is checked, the answer is bounded, and TLS keeps the URL's name."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from scripts.processes import BIN
from socapp import netguard
from socapp.selfsigned import ensure_certificate
from tests.conftest import ROOT


@dataclass
class Server:
    """A local HTTP server that counts connections and records requests."""

    host: str
    port: int
    connections: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    # What it answers: (status, headers, body), or a callable for special behaviour.
    answer: tuple[int, dict[str, str], bytes] = (200, {}, b"ok")
    trickle: bool = False  # send the body one byte at a time, forever

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            server.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": self.rfile.read(length),
                }
            )
            status, headers, body = server.answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if server.trickle:
                self.send_header("Content-Length", str(10**9))
                self.end_headers()
                try:
                    while True:
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # The client may stop reading, as it should past its bound.
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _answer

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    record: Server

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.record.connections += 1
        return True


def _serve(
    host: str, port: int = 0, tls: ssl.SSLContext | None = None
) -> tuple[Server, _CountingServer]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("S", (_CountingServer,), {"address_family": family})
    httpd = server_class((host, port), BaseHTTPRequestHandler)
    record = Server(host, httpd.server_address[1])
    httpd.record = record
    httpd.RequestHandlerClass = _handler(record)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return record, httpd


@pytest.fixture
def loopback() -> Iterator[Server]:
    record, httpd = _serve("127.0.0.1")
    yield record
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def loopback6(loopback: Server) -> Iterator[Server]:
    """The same port on ::1, so every spelling of "this machine" meets a counter."""
    record, httpd = _serve("::1", loopback.port)
    yield record
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def other_loopback() -> Iterator[Server]:
    record, httpd = _serve("127.0.0.2")
    yield record
    httpd.shutdown()
    httpd.server_close()


def hostile_urls(port: int) -> list[tuple[str, str]]:
    """(URL, what the refusal must say). The loopback ones all lead to the counting
    servers on ``port`` if anything connected."""
    return [
        (f"http://127.0.0.1:{port}/", "loopback"),
        (f"http://127.1:{port}/", "loopback"),
        (f"http://2130706433:{port}/", "loopback"),
        (f"http://0x7f000001:{port}/", "loopback"),
        (f"http://0177.0.0.1:{port}/", "loopback"),
        (f"http://[::1]:{port}/", "loopback"),
        (f"http://[::ffff:127.0.0.1]:{port}/", "leads to 127.0.0.1, a loopback"),
        (f"http://[::ffff:7f00:1]:{port}/", "leads to 127.0.0.1, a loopback"),
        (f"http://[2002:7f00:1::]:{port}/", "leads to 127.0.0.1, a loopback"),  # 6to4
        (f"http://[64:ff9b::7f00:1]:{port}/", "leads to 127.0.0.1, a loopback"),  # NAT64
        (f"http://localhost:{port}/", "localhost resolves to 127.0.0.1, a loopback"),
        (f"http://LocalHost:{port}/", "loopback"),
        (f"http://0.0.0.0:{port}/", "unspecified"),
        (f"http://0:{port}/", "unspecified"),
        (f"http://a@127.0.0.1:{port}/", "credentials"),
        (f"http://127.0.0.1:{port}\\@example.org/", "credentials"),
        (f"gopher://127.0.0.1:{port}/_SET%20x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.org/", "only http and https"),
        ("//127.0.0.1/", "only http and https"),
        ("http://127.0.0.1:5432/", "loopback"),
        ("http://[::1]:6379/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fc00::1]/", "private"),
        ("http://100.64.0.1/", "not globally routable"),  # carrier-grade NAT
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://255.255.255.255/", "reserved"),
        ("http://example.org:99999/", "port"),
        ("http://exa mple.org/", "spaces or control characters"),
    ]


def test_every_hostile_url_is_refused_before_any_connection(loopback, loopback6, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    for url, reason in hostile_urls(loopback.port):
        for call in (
            lambda u=url: netguard.check_url(u),
            lambda u=url: netguard.request("POST", u, body=b"{}", timeout=2),
        ):
            with pytest.raises(netguard.OutboundRefused) as refused:
                call()
            assert reason in refused.value.reason, (url, refused.value.reason)
    assert loopback.connections == 0 and loopback6.connections == 0
    assert loopback.requests == [] and loopback6.requests == []


def test_the_counting_servers_do_see_a_connection_the_guard_lets_through(
    loopback, loopback6, settings
):
    """The control for the test above: the same servers count what does get through."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    for url in (f"http://127.1:{loopback.port}/", f"http://[::1]:{loopback.port}/x"):
        assert netguard.request("GET", url, timeout=5).status == 200
    assert loopback.connections == 1 and loopback6.connections == 1


def test_an_allowed_range_lets_exactly_that_range_through(loopback, other_loopback, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    answer = netguard.request("POST", f"{loopback.base}/hook", body=b'{"a": 1}', timeout=5)
    assert (answer.status, answer.body) == (200, b"ok")
    assert loopback.requests[0]["body"] == b'{"a": 1}'
    # An IPv4-mapped spelling of an allowed address is the same host.
    assert netguard.request("GET", f"http://[::ffff:127.0.0.1]:{loopback.port}/").status == 200
    with pytest.raises(netguard.OutboundRefused, match=re.escape("127.0.0.2, a loopback")):
        netguard.request("GET", f"{other_loopback.base}/")
    assert other_loopback.connections == 0


def test_a_malformed_allowed_range_stops_the_settings_from_loading():
    env = {**os.environ, "SECRET_KEY": "x", "OUTBOUND_ALLOWED_NETWORKS": "10.0.0.0/8,nonsense"}
    result = subprocess.run(
        [str(BIN / "python"), "-c", "import socapp.settings.base"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "ImproperlyConfigured: OUTBOUND_ALLOWED_NETWORKS" in result.stderr
    assert "nonsense" in result.stderr


def test_the_checked_address_is_the_one_connected_to(loopback, other_loopback, settings):
    """DNS rebinding: a name that answers 127.0.0.1 (allowed) for the check and
    127.0.0.2 (not allowed) right after is resolved once, and the request goes to the
    address that was checked, with the name in the Host header."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    answers = iter([[ip_address("127.0.0.1")], [ip_address("127.0.0.2")]])
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list:
        asked.append(host)
        return next(answers)

    url = f"http://hooks.rebind.test:{loopback.port}/in"
    assert netguard.request("POST", url, body=b"x", resolve=rebinding).status == 200
    assert asked == ["hooks.rebind.test"]
    assert loopback.requests[0]["headers"]["Host"] == f"hooks.rebind.test:{loopback.port}"
    assert other_loopback.connections == 0


def test_a_name_with_one_public_and_one_private_address_is_refused(loopback, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    def mixed(host: str, port: int) -> list:
        return [ip_address("93.184.215.14"), ip_address("127.0.0.1")]

    with pytest.raises(netguard.OutboundRefused, match=re.escape("to 127.0.0.1, a loopback")):
        netguard.request("GET", f"http://mixed.test:{loopback.port}/", resolve=mixed)
    assert loopback.connections == 0


def test_a_public_address_passes_the_check(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    def public(host: str, port: int) -> list:
        return [ip_address("93.184.215.14"), ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")]

    target = netguard.check_url("https://hooks.example.org/in?x=1", resolve=public)
    assert (target.host, target.port, target.path) == ("hooks.example.org", 443, "/in?x=1")
    # NAT64 and 6to4 forms of a public IPv4 address are public too.
    for address in ("64:ff9b::5db8:d70e", "2002:5db8:d70e::1", "::ffff:93.184.215.14"):
        assert netguard.address_refusal(ip_address(address)) is None


def test_every_redirect_hop_is_checked(loopback, other_loopback, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    loopback.answer = (302, {"Location": f"{other_loopback.base}/internal"}, b"")
    with pytest.raises(netguard.OutboundRefused, match=re.escape("127.0.0.2, a loopback")):
        netguard.request("GET", f"{loopback.base}/feed", max_redirects=5)
    assert other_loopback.connections == 0

    # A hop to an allowed place is followed, and the answer says where it ended.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32", "127.0.0.2/32"]
    other_loopback.answer = (200, {}, b"indicators")
    answer = netguard.request("GET", f"{loopback.base}/feed", max_redirects=5)
    assert (answer.status, answer.body) == (200, b"indicators")
    assert answer.redirects == [f"{loopback.base}/feed"]
    assert answer.url == f"{other_loopback.base}/internal"


def test_redirects_are_not_followed_by_default_nor_for_a_post(loopback, other_loopback, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    loopback.answer = (307, {"Location": f"{other_loopback.base}/"}, b"")
    assert netguard.request("GET", f"{loopback.base}/").status == 307
    assert netguard.request("POST", f"{loopback.base}/", body=b"x", max_redirects=5).status == 307
    assert other_loopback.connections == 0


def test_a_redirect_loop_ends_after_the_allowed_hops(loopback, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    loopback.answer = (302, {"Location": "/again"}, b"")
    answer = netguard.request("GET", f"{loopback.base}/", max_redirects=3)
    assert answer.status == 302 and len(answer.redirects) == 3
    assert loopback.connections == 4


def test_the_answer_is_read_up_to_max_bytes(loopback, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    loopback.answer = (200, {}, b"y" * 1_000_000)
    answer = netguard.request("GET", f"{loopback.base}/", max_bytes=1000)
    assert len(answer.body) == 1000 and answer.truncated
    loopback.answer = (200, {}, b"y" * 1000)
    answer = netguard.request("GET", f"{loopback.base}/", max_bytes=1000)
    assert len(answer.body) == 1000 and not answer.truncated


def test_a_trickling_answer_is_cut_at_the_deadline_not_read_forever(loopback, settings):
    """A receiver that sends one byte every 50 ms forever (and claims a gigabyte): the
    deadline stops reading long before max_bytes; the count of bytes shows it."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    loopback.trickle = True
    answer = netguard.request("GET", f"{loopback.base}/", timeout=1, max_bytes=10**6)
    assert answer.status == 200 and answer.truncated
    assert 0 < len(answer.body) < 100


def test_an_unanswered_connection_fails_with_a_timeout(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(TimeoutError):
            netguard.request("GET", f"http://127.0.0.1:{port}/", timeout=0.5)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Server, Path, list[str]]]:
    ensure_certificate(tmp_path, ["localhost"])
    seen_names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    context.sni_callback = lambda sock, name, ctx: seen_names.append(name)
    record, httpd = _serve("127.0.0.1", tls=context)
    yield record, tmp_path / "tls.crt", seen_names
    httpd.shutdown()
    httpd.server_close()


def test_tls_keeps_the_urls_name_for_sni_and_the_certificate_check(tls_server, settings):
    record, cafile, seen_names = tls_server
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    url = f"https://localhost:{record.port}/hook"
    answer = netguard.request("POST", url, body=b"{}", cafile=str(cafile))
    assert answer.status == 200
    assert seen_names == ["localhost"]
    assert record.requests[0]["headers"]["Host"] == f"localhost:{record.port}"

    # The same server under a name its certificate does not carry: refused by TLS,
    # although the address is the same and allowed.
    def elsewhere(host: str, port: int) -> list:
        return [ip_address("127.0.0.1")]

    with pytest.raises(ssl.SSLCertVerificationError):
        netguard.request(
            "POST", f"https://hooks.other.test:{record.port}/", cafile=str(cafile),
            resolve=elsewhere,
        )  # fmt: skip
    assert len(record.requests) == 1
