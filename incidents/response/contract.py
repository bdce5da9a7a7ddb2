"""What a handler receives and returns, and how the right one is found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

# Output kept from a receiver or a command: enough to diagnose, bounded for the database.
EXCERPT_CHARS = 4000


@dataclass(frozen=True)
class Message:
    """One thing to deliver: a response action or a notification."""

    subject: str  # one line (e-mail subject, chat headline)
    text: str  # plain text for people
    payload: dict[str, Any]  # the structured form (a webhook's JSON body)
    delivery_id: str  # stable across retries: receivers de-duplicate on it
    arguments: dict[str, str] = field(default_factory=dict)  # validated command placeholders


@dataclass(frozen=True)
class Outcome:
    ok: bool
    summary: str  # one line for the timeline
    detail: dict[str, Any] = field(default_factory=dict)  # status code, exit status, output


Handler = Callable[[Any, Message], Outcome]


def handler_for(kind: str) -> Handler:
    path = settings.RESPONSE_HANDLERS.get(kind)
    if path is None:
        raise LookupError(f"No handler is configured for connectors of kind {kind!r}.")
    return import_string(path)


def excerpt(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def deliver(connector: Any, message: Message) -> Outcome:
    """Run the connector's handler; an exception becomes a failed outcome, never a crash."""
    try:
        return handler_for(connector.kind)(connector, message)
    except Exception as exc:  # any handler error is the action's result, not a crash
        return Outcome(False, f"{type(exc).__name__}: {exc}", {"error": excerpt(str(exc))})
