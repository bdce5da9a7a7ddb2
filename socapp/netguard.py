"""The outbound-URL guard: every request socapp makes to a URL someone typed goes here.

Webhook connectors today, threat-intel feeds next. Whoever configures a URL could point
it at socapp's own neighbours (PostgreSQL on 127.0.0.1:5432, Redis on [::1]:6379, the
cloud metadata service on 169.254.169.254) and read the answer back where the result is
shown. So, unless an admin allows a range in ``OUTBOUND_ALLOWED_NETWORKS``:

- only ``http`` and ``https`` URLs, without credentials in them;
- the host is resolved once and EVERY address it resolves to must be public: loopback,
  link-local, private, shared (CGNAT), multicast, reserved and unspecified addresses are
  refused, and so are IPv6 forms that carry such an IPv4 address (IPv4-mapped, 6to4,
  NAT64) — whatever spelling the URL used (``127.1``, ``2130706433``, ``0x7f000001``);
- the connection goes to the address that was checked, never to a second resolution
  (a DNS answer that changes between the check and the connect cannot slip through),
  while the Host header, TLS SNI and certificate check keep the name from the URL;
- redirects are not followed unless the caller asks, and then each hop is checked again,
  and a hop to another origin (scheme, host, port) goes without the credentials the
  caller sent (``Authorization``, ``Cookie``, and any header it names as secret);
- connect, send and read share one deadline, and at most ``max_bytes`` of the answer
  are read.

``check_url`` is for save-time validation (forms); ``request`` and ``stream`` enforce the
same rules at connect time, which is the check that counts.
This module is on the floor of ``socapp/``: it imports no app.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[IPAddress]]

ALLOWED_SCHEMES = ("http", "https")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
SETTING = "OUTBOUND_ALLOWED_NETWORKS"
# The NAT64 prefixes (RFC 6052 well-known, RFC 8215 local use): the IPv4 address is the
# last 32 bits, and that address is where the packets end up.
NAT64_PREFIXES = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)
CHUNK = 16 * 1024
# Headers that carry credentials: never sent on to another origin by a redirect.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


class OutboundRefused(Exception):
    """The guard refused a URL or an address; ``reason`` says why, for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A URL that passed the guard, with the addresses the connection may use."""

    url: str
    scheme: str
    host: str  # as written in the URL (Host header, SNI, certificate check)
    port: int
    path: str  # path and query, what goes on the request line
    addresses: tuple[IPAddress, ...]


@dataclass
class Fetched:
    """What ``request`` read: at most ``max_bytes`` of the body."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool  # the answer was longer than max_bytes, or the deadline cut it
    redirects: list[str] = field(default_factory=list)


# --- Which addresses ---------------------------------------------------------------


@lru_cache(maxsize=8)
def _parse_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def allowed_networks() -> tuple[IPNetwork, ...]:
    """The ranges an admin allowed (``OUTBOUND_ALLOWED_NETWORKS``, CIDRs)."""
    return _parse_networks(tuple(getattr(settings, SETTING, ()) or ()))


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (mapped, 6to4, NAT64), if any."""
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in prefix for prefix in NAT64_PREFIXES):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _kind_of_non_public(address: IPAddress) -> str | None:
    """Why this address is not a public one (a phrase), or None when it is."""
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not globally routable", not address.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def _is_allowed(address: IPAddress) -> bool:
    return any(address in network for network in allowed_networks())


def address_refusal(address: IPAddress) -> str | None:
    """None if socapp may connect to ``address``, else what it is, e.g.
    ``"127.0.0.1, a loopback address"``."""
    if _is_allowed(address):
        return None
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        if _is_allowed(embedded):
            return None
        kind = _kind_of_non_public(embedded)
        return f"{address}, which leads to {embedded}, a {kind} address" if kind else None
    kind = _kind_of_non_public(address)
    return f"{address}, a {kind} address" if kind else None


# --- Which URLs ----------------------------------------------------------------------


def _split(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL the guard accepts the shape of."""
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise OutboundRefused("the URL contains spaces or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise OutboundRefused(
            f"only http and https URLs are allowed, not {scheme or 'a relative URL'!r}"
        )
    if "@" in parts.netloc:
        raise OutboundRefused("credentials in the URL (user@host) are not accepted")
    host = parts.hostname
    if not host:
        raise OutboundRefused("the URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise OutboundRefused(f"the URL's port is not valid: {exc}") from exc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port, path


def system_resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for ``host`` (numeric forms included:
    glibc reads ``127.1`` and ``0x7f000001`` as 127.0.0.1, and so do we)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


# Resolution has no timeout of its own; a small pool lets the caller stop waiting.
_resolver_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="netguard-dns")


def _resolve_within(resolve: Resolver, host: str, port: int, timeout: float) -> list[IPAddress]:
    future = _resolver_pool.submit(resolve, host, port)
    try:
        addresses = future.result(timeout=timeout)
    except FutureTimeout as exc:
        raise OutboundRefused(f"{host} could not be resolved within {timeout:g} s") from exc
    except OSError as exc:
        raise OutboundRefused(f"{host} could not be resolved: {exc}") from exc
    if not addresses:
        raise OutboundRefused(f"{host} resolves to no address")
    return addresses


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, *, resolve: Resolver = system_resolve, timeout: float = 5.0) -> Target:
    """The URL's target if socapp may send to it now, else ``OutboundRefused``.

    Every address the host resolves to must pass: a name that answers with one public
    and one private address is refused (the connection could land on either).
    """
    scheme, host, port, path = _split(url)
    addresses = _resolve_within(resolve, host, port, timeout)
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            lead = "" if _literal(host) == address else f"{host} resolves to "
            raise OutboundRefused(
                f"{lead}{refusal}: socapp sends nothing there unless an admin allows "
                f"the range in {SETTING}"
            )
    return Target(url, scheme, host, port, path, tuple(addresses))


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the default port filled in: what "the same
    server" means for credentials."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


# --- Connecting to the checked address ------------------------------------------------


def _connect(addresses: Sequence[IPAddress], port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers. The
    addresses are numbers: nothing is resolved again here."""
    last_error: OSError = OSError("no address to connect to")
    for address in addresses:
        family = socket.AF_INET if address.version == 4 else socket.AF_INET6
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((str(address), port))
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        return sock
    raise last_error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """http.client with the socket opened to a checked address; ``host`` stays the
    name from the URL, so the Host header is the one the receiver expects."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._addresses = target.addresses

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same for TLS: SNI and the certificate check use the name from the URL."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._addresses = target.addresses
        self._tls = context

    def connect(self) -> None:
        sock = _connect(self._addresses, self.port, self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


class GuardedResponse:
    """An answer being read under the guard's bounds."""

    def __init__(
        self, url: str, response: http.client.HTTPResponse, sock: socket.socket | None,
        deadline: float, redirects: list[str],
    ) -> None:  # fmt: skip
        self.url = url
        self.status = response.status
        self.headers = {name.lower(): value for name, value in response.getheaders()}
        self.redirects = redirects  # the URLs that sent us on, in order
        self.truncated = False  # set when max_bytes or the deadline cut the body short
        self._response = response
        self._sock = sock
        self._deadline = deadline

    def _read1(self, size: int) -> bytes | None:
        """At most ``size`` bytes, b"" at the end, None when the deadline is reached."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            return None
        if self._sock is not None:
            self._sock.settimeout(left)  # no single read may outlast the deadline
        try:
            return self._response.read1(size)
        except TimeoutError:
            return None

    def iter_bytes(self, max_bytes: int) -> Iterator[bytes]:
        """The body in pieces, never more than ``max_bytes`` in all; stops early at the
        deadline. ``truncated`` tells whether anything was left unread."""
        remaining = max_bytes
        while remaining > 0:
            piece = self._read1(min(CHUNK, remaining))
            if piece is None:
                self.truncated = True
                return
            if not piece:
                return
            remaining -= len(piece)
            yield piece
        self.truncated = self._read1(1) != b""

    def read(self, max_bytes: int) -> bytes:
        return b"".join(self.iter_bytes(max_bytes))


def _tls_context(cafile: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def _open(
    target: Target, method: str, body: bytes | None, headers: dict[str, str], deadline: float,
    cafile: str | None,
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, socket.socket | None]:  # fmt: skip
    left = max(deadline - time.monotonic(), 0.001)
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target, left, _tls_context(cafile))
    else:
        connection = _PinnedHTTPConnection(target, left)
    try:
        connection.request(method, target.path, body=body, headers=headers)
        sock = connection.sock  # getresponse may hand it to the response and forget it
        return connection, connection.getresponse(), sock
    except BaseException:
        connection.close()
        raise


@contextmanager
def stream(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    max_redirects: int = 0,
    resolve: Resolver = system_resolve,
    cafile: str | None = None,
    secret_headers: frozenset[str] = frozenset(),
) -> Iterator[GuardedResponse]:
    """Send one request under the guard and hand over the answer to read in pieces.

    ``timeout`` bounds resolving, connecting, sending and reading together. Redirects
    are followed only for GET and HEAD, at most ``max_redirects`` times, and every hop
    is checked like the first; otherwise a 3xx is the answer. A hop to another origin
    drops ``SECRET_HEADERS`` and ``secret_headers`` (names, lower case) for good.
    """
    deadline = time.monotonic() + timeout
    method = method.upper()
    hops: list[str] = []
    current = url
    sent = {"Connection": "close", **(headers or {})}
    secrets = SECRET_HEADERS | {name.lower() for name in secret_headers}
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer from {url} within {timeout:g} s")
        target = check_url(current, resolve=resolve, timeout=left)
        connection, response, sock = _open(target, method, body, sent, deadline, cafile)
        location = response.getheader("Location")
        follow = (
            response.status in REDIRECT_STATUSES
            and location
            and method in ("GET", "HEAD")
            and len(hops) < max_redirects
        )
        if not follow:
            break
        connection.close()
        hops.append(current)
        following = urljoin(current, location)
        if origin(following) != origin(current):
            sent = {name: value for name, value in sent.items() if name.lower() not in secrets}
        current = following
    try:
        yield GuardedResponse(current, response, sock, deadline, hops)
    finally:
        connection.close()


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    max_bytes: int = 64 * 1024,
    max_redirects: int = 0,
    resolve: Resolver = system_resolve,
    cafile: str | None = None,
    secret_headers: frozenset[str] = frozenset(),
) -> Fetched:
    """``stream`` read to the end, keeping at most ``max_bytes`` of the body."""
    with stream(
        method, url, body=body, headers=headers, timeout=timeout, max_redirects=max_redirects,
        resolve=resolve, cafile=cafile, secret_headers=secret_headers,
    ) as response:  # fmt: skip
        data = response.read(max_bytes)
        return Fetched(
            url=response.url,
            status=response.status,
            headers=response.headers,
            body=data,
            truncated=response.truncated,
            redirects=list(response.redirects),
        )
