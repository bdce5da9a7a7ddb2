"""The listener: receives syslog over UDP, TCP and TLS, maps each message to its source
and hands batches (by size or age) to the ingest service on a worker thread.

Syslog has no acknowledgement (RFC 5424 §8.5), so this is best effort with counters: when
the database is down, batches wait and are retried with backoff; when the backlog passes
its limits (messages and bytes), TCP and TLS senders are slowed (reading pauses) and UDP
datagrams are dropped and counted. Memory stays bounded: a frame is at most
``max_message`` bytes, a connection buffers at most one frame plus one read, and all
buffers together at most ``max_buffered`` messages and ``max_buffered_bytes`` bytes (plus
the last read of each connection before it is paused). Nothing a sender can send stops
the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import ssl
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import close_old_connections

from ..parsers.base import RawRecord, Rejected
from ..parsers.syslog import syslog_hostname
from .framing import FrameDecoder
from .routing import Route, SenderRouter, catchall_route

logger = logging.getLogger(__name__)

STATS_KEY = "syslogd:stats"
ROUTES_REFRESH_SECONDS = 10.0


@dataclass
class ListenerConfig:
    host: str = "0.0.0.0"  # noqa: S104 - a syslog listener listens for the network
    udp_port: int | None = 5514
    tcp_port: int | None = 5514
    tls_port: int | None = None
    certfile: str | None = None
    keyfile: str | None = None
    batch_size: int = 500
    flush_seconds: float = 1.0
    unknown_senders: str = "catchall"  # or "refuse"
    max_message: int = 64 * 1024
    max_buffered: int = 100_000
    max_buffered_bytes: int = 64 * 1024 * 1024


@dataclass
class Buffer:
    route: Route
    records: list[RawRecord] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    size: int = 0
    started: float = field(default_factory=time.monotonic)
    retry_at: float = 0.0
    failures: int = 0

    def __len__(self) -> int:
        return len(self.records) + len(self.rejected)


def plain_address(address: str) -> str:
    """``::ffff:10.0.0.1`` (an IPv4 peer on a dual-stack socket) as ``10.0.0.1``."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


class Listener:
    def __init__(self, config: ListenerConfig) -> None:
        self.config = config
        self.router = SenderRouter()
        self.buffers: dict[Any, Buffer] = {}
        self.stats: Counter[str] = Counter()
        self._reported: Counter[str] = Counter()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syslog-ingest")
        self.paused: set[asyncio.Transport] = set()
        self.stopping = asyncio.Event()
        self._catchall: Route | None = None
        self._sequence = 0
        self.buffered_bytes = 0  # of the messages waiting in the buffers

    # ---- receiving -------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        return sum(len(b) for b in self.buffers.values())

    def full(self) -> bool:
        return (
            self.buffered_bytes >= self.config.max_buffered_bytes
            or self.buffered >= self.config.max_buffered
        )

    def _route(self, peer: str, text: str) -> Route | None:
        route = self.router.by_address(peer)
        if route is None and self.router.knows_hostnames:
            route = self.router.by_hostname(syslog_hostname(text))
        if route is None and self.config.unknown_senders == "catchall":
            route = self._catchall
        return route

    def accept(self, data: bytes, peer: str, transport: str, problem: str | None = None) -> bool:
        """Take one message; False when it was refused or dropped (and counted). A bug
        here must cost one message, never the connection or the listener."""
        try:
            return self._accept(data, peer, transport, problem)
        except Exception:
            self.stats["internal_errors"] += 1
            logger.exception("syslog message from %s dropped", peer)
            return False

    def _accept(self, data: bytes, peer: str, transport: str, problem: str | None) -> bool:
        self.stats[f"received_{transport}"] += 1
        try:
            text = data.decode("utf-8")
            original = None
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
            original = data
        route = self._route(plain_address(peer), text)
        if route is None:
            self.stats["refused_unknown_sender"] += 1
            return False
        if transport == "udp" and self.full():
            self.stats["dropped_overload"] += 1
            return False
        buffer = self.buffers.get(route.source_id)
        if buffer is None:
            buffer = self.buffers[route.source_id] = Buffer(route)
        self._sequence += 1
        if problem:
            self.stats["frame_errors"] += 1
            buffer.rejected.append(Rejected(self._sequence, data, f"{transport}: {problem}"))
        else:
            buffer.records.append(RawRecord(self._sequence, text, original))
        buffer.size += len(data)
        self.buffered_bytes += len(data)
        return True

    def pause_if_full(self, transport: asyncio.Transport) -> None:
        if transport not in self.paused and self.full():
            transport.pause_reading()
            self.paused.add(transport)

    def _resume_readers(self) -> None:
        if (
            self.paused
            and self.buffered < self.config.max_buffered // 2
            and self.buffered_bytes < self.config.max_buffered_bytes // 2
        ):
            for transport in list(self.paused):
                if not transport.is_closing():
                    transport.resume_reading()
            self.paused.clear()

    # ---- flushing --------------------------------------------------------------------

    def _due(self, buffer: Buffer, now: float, everything: bool) -> bool:
        if not len(buffer) or now < buffer.retry_at:
            return False
        return (
            everything
            or len(buffer) >= self.config.batch_size
            or now - buffer.started >= self.config.flush_seconds
        )

    async def flush(self, everything: bool = False) -> None:
        now = time.monotonic()
        for source_id, buffer in list(self.buffers.items()):
            if not self._due(buffer, now, everything):
                continue
            records = buffer.records[: self.config.batch_size]
            rejected = buffer.rejected if len(records) == len(buffer.records) else []
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self.executor, _ingest, source_id, records, rejected, buffer.size
                )
            except Exception as exc:  # the database is down or refused the batch: keep it
                buffer.failures += 1
                buffer.retry_at = now + min(30.0, 2.0**buffer.failures)
                self.stats["ingest_failures"] += 1
                logger.warning(
                    "syslog batch for %s not stored (%s); retrying in %.0fs",
                    buffer.route.name,
                    exc,
                    buffer.retry_at - now,
                )
                continue
            del buffer.records[: len(records)]
            self.buffered_bytes -= _size_of(records, rejected)
            if rejected:
                buffer.rejected = []
            buffer.size = 0 if not len(buffer) else buffer.size
            buffer.started, buffer.failures, buffer.retry_at = time.monotonic(), 0, 0.0
            self.stats["batches_stored"] += 1
            self.stats["messages_stored"] += len(records)
        self._resume_readers()

    async def _flush_loop(self) -> None:
        last_report = time.monotonic()
        loop = asyncio.get_running_loop()
        while not self.stopping.is_set():
            if time.monotonic() - self.router.loaded_at > ROUTES_REFRESH_SECONDS:
                await loop.run_in_executor(self.executor, self._load_routes)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=0.2)
            await self.flush()
            if time.monotonic() - last_report > 5:
                await asyncio.get_running_loop().run_in_executor(self.executor, self._report)
                last_report = time.monotonic()

    def _report(self) -> None:
        """Add this process's new counts to the shared counters /metrics reads."""
        from django.core.cache import cache

        from socapp.kv import cache_client

        delta = self.stats - self._reported
        if not delta:
            return
        try:
            client = cache_client(write=True)
            key = cache.make_key(STATS_KEY)
            for name, value in delta.items():
                client.hincrby(key, name, value)
            self._reported.update(delta)
        except Exception:
            logger.debug("could not report syslog counters", exc_info=True)

    # ---- serving ---------------------------------------------------------------------

    def _load_routes(self) -> None:
        """The sender table and the catch-all source (database work: never on the loop)."""
        close_old_connections()
        try:
            self.router.reload()
            if self.config.unknown_senders == "catchall" and self._catchall is None:
                self._catchall = catchall_route()
        except Exception:  # the database is down: keep the table we have, retry later
            logger.warning("could not reload syslog sender routes", exc_info=True)
            self.router.loaded_at = time.monotonic()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self._load_routes)
        servers: list[Any] = []
        config = self.config
        if config.udp_port is not None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: UdpProtocol(self), local_addr=(config.host, config.udp_port)
            )
            servers.append(transport)
            logger.info("syslog over UDP on %s:%s", config.host, config.udp_port)
        if config.tcp_port is not None:
            servers.append(
                await loop.create_server(
                    lambda: StreamProtocol(self, "tcp"), config.host, config.tcp_port
                )
            )
            logger.info("syslog over TCP on %s:%s", config.host, config.tcp_port)
        if config.tls_port is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if config.certfile is None:
                raise ValueError("a TLS port needs a certificate (certfile)")
            context.load_cert_chain(config.certfile, config.keyfile)
            servers.append(
                await loop.create_server(
                    lambda: StreamProtocol(self, "tls"), config.host, config.tls_port, ssl=context
                )
            )
            logger.info("syslog over TLS on %s:%s", config.host, config.tls_port)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stopping.set)
        try:
            await self._flush_loop()
        finally:
            for server in servers:
                server.close()
            await self._drain()
            self.executor.shutdown(wait=True)

    async def _drain(self) -> None:
        """On shutdown, store what is buffered (a few tries while the database answers)."""
        for _ in range(5):
            await self.flush(everything=True)
            if not self.buffered:
                break
            await asyncio.sleep(1)
        if self.buffered:
            logger.error("shutting down with %d syslog messages not stored", self.buffered)
        await asyncio.get_running_loop().run_in_executor(self.executor, self._report)


def _size_of(records: list[RawRecord], rejected: list[Rejected]) -> int:
    """The bytes these messages were received as (what ``_accept`` counted)."""
    size = sum(
        len(r.original) if r.original is not None else len(str(r.data).encode()) for r in records
    )
    return size + sum(len(r.raw) for r in rejected)


def _ingest(source_id: Any, records: list[RawRecord], rejected: list[Rejected], size: int) -> None:
    from ..ingest import events_ingest
    from ..models import Source

    close_old_connections()
    source = Source.objects.get(pk=source_id)
    events_ingest(source=source, records=records, rejected=rejected, transport="syslog", size=size)


class UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        message = data.rstrip(b"\r\n\x00")
        if not message.strip():
            return
        if len(message) > self.listener.config.max_message:
            self.listener.accept(message[:512], addr[0], "udp", "datagram too large")
            return
        self.listener.accept(message, addr[0], "udp")


class StreamProtocol(asyncio.Protocol):
    def __init__(self, listener: Listener, kind: str) -> None:
        self.listener = listener
        self.kind = kind
        self.decoder = FrameDecoder(listener.config.max_message)
        self.peer = "0.0.0.0"  # noqa: S104
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream's: it reads and writes
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if peer else self.peer

    def data_received(self, data: bytes) -> None:
        for frame in self.decoder.feed(data):
            self.listener.accept(frame.data, self.peer, self.kind, frame.problem)
        if self.transport is not None:
            self.listener.pause_if_full(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        for frame in self.decoder.close():
            self.listener.accept(frame.data, self.peer, self.kind, frame.problem)
        if self.transport is not None:
            self.listener.paused.discard(self.transport)
