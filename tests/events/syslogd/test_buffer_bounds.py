"""The listener's memory is bounded in bytes, not only in messages: large frames over a
real TCP connection pause the sender, large datagrams are dropped and counted."""

from __future__ import annotations

import asyncio

from events.syslogd.routing import Route
from events.syslogd.server import Listener, ListenerConfig, StreamProtocol, UdpProtocol

LIMIT = 1024 * 1024
FRAME = b"<13>Nov 28 04:03:59 h app: " + b"x" * 60_000
ONE_READ = 256 * 1024  # what asyncio reads from a socket at a time


def listener() -> Listener:
    server = Listener(ListenerConfig(max_buffered_bytes=LIMIT, max_buffered=100_000))
    server._catchall = Route(source_id=1, name="catch-all")  # no database needed to buffer
    return server


def test_udp_datagrams_past_the_byte_limit_are_dropped_and_counted():
    server = listener()
    udp = UdpProtocol(server)
    for _ in range(100):  # 6 MB sent
        udp.datagram_received(FRAME, ("192.0.2.1", 514))
    kept = LIMIT // len(FRAME) + 1
    assert server.buffered == kept
    assert server.buffered_bytes == kept * len(FRAME) < LIMIT + len(FRAME)
    assert server.stats["dropped_overload"] == 100 - kept


def test_a_tcp_sender_is_paused_at_the_byte_limit():
    server = listener()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        tcp = await loop.create_server(lambda: StreamProtocol(server, "tcp"), "127.0.0.1", 0)
        port = tcp.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(200):  # 12 MB, far more than the limit
            writer.write(FRAME + b"\n")
        for _ in range(500):  # until the listener stops reading (or 5 s)
            if server.paused:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # nothing more arrives while paused
        writer.transport.abort()
        tcp.close()

    asyncio.run(scenario())
    assert len(server.paused) == 1
    assert LIMIT <= server.buffered_bytes <= LIMIT + ONE_READ + len(FRAME)
    assert server.buffered < 200
