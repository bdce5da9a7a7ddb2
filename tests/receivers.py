"""Real local receivers for what socapp sends out: an HTTP server that records webhook
calls and an SMTP server (aiosmtpd) that records mail. Both listen on free ports of
127.0.0.1 for the length of a test.

The outbound guard (socapp.netguard) refuses loopback addresses, so a test that uses
the webhook receiver allows exactly 127.0.0.1/32, as an admin would allow an internal
range with OUTBOUND_ALLOWED_NETWORKS (processes a test starts get RECEIVER_ENV)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    url: str
    calls: list[Call] = field(default_factory=list)
    status: int = 200  # what the receiver answers; a test may change it


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.calls.append(Call(self.path, dict(self.headers.items()), body))
            self.send_response(receiver.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"received": true}')

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


# What a socapp process started by a test needs to reach the receivers.
RECEIVER_ENV = {"OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32"}


@pytest.fixture
def webhook_receiver(settings) -> Iterator[WebhookReceiver]:
    settings.OUTBOUND_ALLOWED_NETWORKS = [RECEIVER_ENV["OUTBOUND_ALLOWED_NETWORKS"]]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(WebhookReceiver("")))
    receiver = WebhookReceiver(f"http://127.0.0.1:{server.server_port}/hook")
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@dataclass
class SmtpReceiver:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)


class _Collect:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiver.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.receiver.messages.append(
            message_from_bytes(envelope.original_content, policy=policy.default)
        )
        return "250 OK"


@pytest.fixture
def smtp_receiver(settings) -> Iterator[SmtpReceiver]:
    """A real SMTP server, and Django's SMTP backend pointed at it (tests default to
    the in-memory backend)."""
    from aiosmtpd.controller import Controller

    from scripts.processes import free_port

    receiver = SmtpReceiver("127.0.0.1", free_port())
    controller = Controller(_Collect(receiver), hostname=receiver.host, port=receiver.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = receiver.host, receiver.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield receiver
    controller.stop()
