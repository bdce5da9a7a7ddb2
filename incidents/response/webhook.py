"""HTTP POST of a JSON body, signed with HMAC-SHA256 when the connector has a secret.

Headers: ``X-Socapp-Delivery`` (stable id, for de-duplication), ``X-Socapp-Timestamp``
(Unix seconds) and ``X-Socapp-Signature: sha256=<hex>`` over ``<timestamp>.<body>``,
so a receiver can refuse old or forged calls. Redirects are not followed: a 3xx is a
failure, because following one would send the signed body somewhere not configured.

The call goes through ``socapp.netguard``: a URL that leads to loopback, link-local,
private or other non-public addresses (unless an admin allows the range) is not called
at all, and the refusal is the outcome. At most 64 KB of the answer are read, within
the connector's timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from socapp import netguard

from .contract import Message, Outcome, excerpt

# What is read of a receiver's answer (an excerpt of it is kept with the result).
MAX_ANSWER_BYTES = 64_000


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


def _body_and_headers(connector: Any, message: Message) -> tuple[bytes, dict[str, str]]:
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
    return body, headers


def deliver(connector: Any, message: Message) -> Outcome:
    body, headers = _body_and_headers(connector, message)
    try:
        answer = netguard.request(
            "POST",
            connector.url,
            body=body,
            headers=headers,
            timeout=connector.timeout_seconds,
            max_bytes=MAX_ANSWER_BYTES,
            max_redirects=0,
        )
    except netguard.OutboundRefused as exc:
        return Outcome(
            False,
            f"Not sent to {connector.url}: {exc.reason}",
            {"url": connector.url, "refused": exc.reason},
        )
    status = answer.status
    detail = {"url": connector.url, "http_status": status, "response": excerpt(answer.body)}
    ok = 200 <= status < 300
    return Outcome(ok, f"POST {connector.url} answered {status}", detail)
