"""HTTP POST of a JSON body, signed with HMAC-SHA256 when the connector has a secret.

Headers: ``X-Socapp-Delivery`` (stable id, for de-duplication), ``X-Socapp-Timestamp``
(Unix seconds) and ``X-Socapp-Signature: sha256=<hex>`` over ``<timestamp>.<body>``,
so a receiver can refuse old or forged calls. Redirects are not followed: a 3xx is a
failure, because following one would send the signed body somewhere not configured.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from .contract import Message, Outcome, excerpt


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def slack_body(message: Message) -> dict[str, Any]:
    """Slack's incoming-webhook shape (also understood by Mattermost and Rocket.Chat)."""
    return {
        "text": message.subject,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
            {"type": "section", "text": {"type": "plain_text", "text": message.text[:2900]}},
        ],
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _request(connector: Any, message: Message) -> urllib.request.Request:
    if not connector.url.lower().startswith(("https://", "http://")):
        raise ValueError(f"A webhook URL must be http(s): {connector.url!r}")
    document = slack_body(message) if connector.payload_format == "slack" else message.payload
    body = json.dumps(document, sort_keys=True, default=str).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "socapp-webhook/1",
        "X-Socapp-Delivery": message.delivery_id,
        "X-Socapp-Timestamp": timestamp,
    }
    if connector.secret:
        headers["X-Socapp-Signature"] = signature(connector.secret, timestamp, body)
    # The scheme is checked above (no file: or custom schemes).
    return urllib.request.Request(connector.url, data=body, headers=headers, method="POST")  # noqa: S310


def deliver(connector: Any, message: Message) -> Outcome:
    request = _request(connector, message)
    try:
        with _opener.open(request, timeout=connector.timeout_seconds) as response:
            status, text = response.status, response.read(64_000)
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read(64_000)
    detail = {"url": connector.url, "http_status": status, "response": excerpt(text)}
    ok = 200 <= status < 300
    return Outcome(ok, f"POST {connector.url} answered {status}", detail)
