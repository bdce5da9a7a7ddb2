"""manage.py syslogd: the syslog listener (UDP, TCP, TLS)."""

import asyncio
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from events.syslogd.server import Listener, ListenerConfig


class Command(BaseCommand):
    help = (
        "Receive syslog (RFC 3164 and 5424) over UDP and TCP (octet counting or newline "
        "framing, RFC 6587) and TLS (RFC 5425), map each sender to its source and store "
        "the messages through the ingest service. Ctrl-C or SIGTERM stores what is "
        "buffered, then stops."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.SYSLOG_HOST)
        parser.add_argument(
            "--udp-port",
            type=int,
            default=settings.SYSLOG_UDP_PORT,
            help="0 disables UDP (default %(default)s)",
        )
        parser.add_argument(
            "--tcp-port",
            type=int,
            default=settings.SYSLOG_TCP_PORT,
            help="0 disables TCP (default %(default)s)",
        )
        parser.add_argument(
            "--tls-port",
            type=int,
            default=settings.SYSLOG_TLS_PORT,
            help="TLS port; needs --cert and --key (default: off)",
        )
        parser.add_argument("--cert", default=settings.SYSLOG_TLS_CERT)
        parser.add_argument("--key", default=settings.SYSLOG_TLS_KEY)
        parser.add_argument("--batch-size", type=int, default=settings.SYSLOG_BATCH_SIZE)
        parser.add_argument("--flush-seconds", type=float, default=settings.SYSLOG_FLUSH_SECONDS)
        parser.add_argument(
            "--unknown-senders",
            choices=["catchall", "refuse"],
            default=settings.SYSLOG_UNKNOWN_SENDERS,
            help="senders no source names: store them in the catch-all "
            "source, or refuse and count them (default %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tls_port = options["tls_port"] or None
        if tls_port and not (options["cert"] and options["key"]):
            raise CommandError("--tls-port needs --cert and --key")
        config = ListenerConfig(
            host=options["host"],
            udp_port=options["udp_port"] or None,
            tcp_port=options["tcp_port"] or None,
            tls_port=tls_port,
            certfile=options["cert"],
            keyfile=options["key"],
            batch_size=options["batch_size"],
            flush_seconds=options["flush_seconds"],
            unknown_senders=options["unknown_senders"],
            max_message=settings.SYSLOG_MAX_MESSAGE,
            max_buffered=settings.SYSLOG_MAX_BUFFERED,
            max_buffered_bytes=settings.SYSLOG_MAX_BUFFERED_BYTES,
        )
        if not (config.udp_port or config.tcp_port or config.tls_port):
            raise CommandError("every transport is disabled")
        try:
            asyncio.run(Listener(config).serve())
        except OSError as exc:
            raise CommandError(f"cannot listen: {exc}") from exc
