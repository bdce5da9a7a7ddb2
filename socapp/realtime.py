"""Live pushes to browsers over Channels, sent only after the change has committed.

A push is a nudge, not the record: channel layers drop messages when a client is slow
(channels_redis: capacity 100, expiry 60 s), so pages catch up over REST on connect.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def _send(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # the record is committed; a lost nudge costs only latency
            logger.warning("live push to %s failed", group, exc_info=True)


def publish_on_commit(groups: list[str], message: dict[str, Any]) -> None:
    transaction.on_commit(lambda: _send(groups, message))
