"""A small feed server on loopback for polling tests: TAXII 2.1 collection pages, a
MISP feed, plain files, redirects; it records every request with its headers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

Answer = tuple[int, dict[str, str], bytes]
TAXII_JSON = {"Content-Type": "application/taxii+json;version=2.1"}
COLLECTION = "/taxii/api1/collections/col/"


@dataclass
class FeedServer:
    host: str
    port: int = 0
    routes: dict[str, Answer | Callable[[dict[str, list[str]]], Answer]] = field(
        default_factory=dict
    )
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def hits(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            server.requests.append(
                {"path": parts.path, "query": query, "headers": dict(self.headers.items())}
            )
            route = server.routes.get(parts.path)
            status, headers, body = (
                (404, {}, b"") if route is None else route(query) if callable(route) else route
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def serve(host: str) -> tuple[FeedServer, ThreadingHTTPServer]:
    record = FeedServer(host)
    httpd = ThreadingHTTPServer((host, 0), _handler(record))
    httpd.daemon_threads = True
    record.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return record, httpd


@pytest.fixture
def feed_server(settings) -> Iterator[FeedServer]:
    """A feed server on 127.0.0.1, which this test (only) allows as an admin would."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32", "127.0.0.2/32"]
    record, httpd = serve("127.0.0.1")
    yield record
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def other_server(feed_server) -> Iterator[FeedServer]:
    """Another host (127.0.0.2): a different origin from the feed's."""
    record, httpd = serve("127.0.0.2")
    yield record
    httpd.shutdown()
    httpd.server_close()


def taxii_collection(
    server: FeedServer, pages: list[list[dict]], stamps: list[str], path: str = COLLECTION
) -> None:
    """``path``objects/: page i of ``pages`` for ``next=i``; a poll with ``added_after``
    gets only the last page (what was added since), or nothing once it has it."""

    def objects(query: dict[str, list[str]]) -> Answer:
        after = query.get("added_after", [""])[0]
        index = int(query.get("next", ["0"])[0])
        if after and after >= stamps[-1]:
            return 200, TAXII_JSON, json.dumps({"more": False, "objects": []}).encode()
        if after:  # a later poll: only the last page is new
            index = len(pages) - 1
        more = index + 1 < len(pages) and not after
        envelope: dict[str, Any] = {"more": more, "objects": pages[index]}
        if more:
            envelope["next"] = str(index + 1)
        headers = {**TAXII_JSON, "X-TAXII-Date-Added-Last": stamps[index]}
        return 200, headers, json.dumps(envelope).encode()

    server.routes[path + "objects/"] = objects


def taxii_resource(server: FeedServer, path: str, resource: dict[str, Any]) -> None:
    server.routes[path] = (200, TAXII_JSON, json.dumps(resource).encode())
