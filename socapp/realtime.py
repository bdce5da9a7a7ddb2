"""Live pushes to browsers over Channels, sent only after the change has committed.

A push is a nudge, not the record: channel layers drop messages when a client is slow
(channels_redis: capacity 100, expiry 60 s), so pages catch up over REST on connect.

Sending does not hold up the code that committed: committed messages go on a queue that
one background thread per process drains in batches on its own event loop (one
``async_to_sync`` hop per message cost a worker milliseconds per alert). A message still
queued when the process dies is lost, like any nudge; the page's REST catch-up covers it.

One message may go to several groups (an incident's team, everyone who sees all
incidents, its assignee), and one connection may have joined more than one of them (the
assignee is in the team). Each copy says which groups the message went to and which one
it came through, and a connection acts only on the copy of the first of those groups it
joined (``first_copy``), so every connection hears each message once.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Collection
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

Message = tuple[list[str], dict[str, Any]]
_outbox: queue.SimpleQueue[Message] = queue.SimpleQueue()
_sender_lock = threading.Lock()
_sender: threading.Thread | None = None
BATCH = 500


async def _send_all(batch: list[Message]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for groups, message in batch:
        for group in groups:
            try:
                await layer.group_send(group, {**message, "groups": groups, "via": group})
            except Exception:  # the record is committed; a lost nudge costs only latency
                logger.warning("live push to %s failed", group, exc_info=True)


def _drain_forever() -> None:
    loop = asyncio.new_event_loop()
    while True:
        batch = [_outbox.get()]
        while len(batch) < BATCH:
            try:
                batch.append(_outbox.get_nowait())
            except queue.Empty:
                break
        try:
            loop.run_until_complete(_send_all(batch))
        except Exception:
            logger.exception("live pushes lost")


def _enqueue(groups: list[str], message: dict[str, Any]) -> None:
    global _sender
    if _sender is None or not _sender.is_alive():
        with _sender_lock:
            if _sender is None or not _sender.is_alive():
                _sender = threading.Thread(target=_drain_forever, name="live-push", daemon=True)
                _sender.start()
    _outbox.put((groups, message))


def publish_on_commit(groups: list[str], message: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _enqueue(groups, message))


def first_copy(message: dict[str, Any], joined: Collection[str]) -> bool:
    """Whether a connection that joined the groups ``joined`` should act on this copy of
    ``message``: the copy that came through the first of the message's groups it joined
    (messages sent without the list of groups are acted on always)."""
    groups = message.get("groups")
    if not groups:
        return True
    via = message.get("via")
    return next((group for group in groups if group in joined), via) == via
