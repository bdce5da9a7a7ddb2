"""From a parser's ParsedEvent to a row of ``events``: timestamps settled, ECS fields
promoted into the seed's columns, JSON made safe for PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from socapp.ids import uuid7

from .parsers.base import ParsedEvent, ip_or_none, port_or_none
from .services import EventRecord

# Timestamps further in the future than this (clock skew) or before 1970 are not
# believed: the event keeps the time it was received, and the claimed time is kept in
# ``socapp.claimed_timestamp`` with the tag ``timestamp_replaced``.
MAX_FUTURE_SKEW = timedelta(days=1)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
NUL = "\x00"


def settle_timestamp(claimed: datetime | None, received_at: datetime) -> tuple[datetime, bool]:
    """The event time to store, and whether the claimed one was replaced."""
    if claimed is None:
        return received_at, False
    if claimed.tzinfo is None:
        claimed = claimed.replace(tzinfo=UTC)
    if claimed < EARLIEST or claimed > received_at + MAX_FUTURE_SKEW:
        return received_at, True
    return claimed, False


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(NUL, "\ufffd")
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def json_for_postgres(document: dict[str, Any]) -> bytes:
    """JSON bytes PostgreSQL's jsonb accepts (it refuses the NUL character)."""
    encoded = orjson.dumps(document, default=str, option=orjson.OPT_NON_STR_KEYS)
    if b"\\u0000" in encoded:
        encoded = orjson.dumps(_strip_nul(document), default=str, option=orjson.OPT_NON_STR_KEYS)
    return encoded


def _side(fields: dict[str, Any], name: str) -> tuple[str | None, int | None]:
    side = fields.get(name)
    if type(side) is not dict:
        return None, None
    return ip_or_none(side.get("ip")), port_or_none(side.get("port"))


def to_record(
    event: ParsedEvent,
    *,
    received_at: datetime,
    event_type_id: Any = None,
    batch_id: Any = None,
    received_iso: str | None = None,
) -> EventRecord:
    """``received_iso`` is ``received_at`` already formatted (a batch shares one)."""
    fields = event.fields
    moment, replaced = settle_timestamp(event.timestamp, received_at)
    fields["@timestamp"] = _iso(moment)
    event_object = fields.get("event")
    if type(event_object) is not dict:
        if event_object is not None:
            fields.setdefault("socapp", {})["event"] = event_object  # not ECS-shaped: keep it
        event_object = fields["event"] = {}
    event_object.setdefault("kind", "event")
    event_object["ingested"] = received_iso or _iso(received_at)
    if replaced:
        fields.setdefault("socapp", {})["claimed_timestamp"] = _iso(event.timestamp)  # type: ignore[arg-type]
        tags = fields.get("tags") if isinstance(fields.get("tags"), list) else []
        fields["tags"] = [*tags, "timestamp_replaced"]
    network = fields.get("network")
    transport = (
        (network.get("transport") or network.get("protocol") or "") if type(network) is dict else ""
    )
    source_ip, source_port = _side(fields, "source")
    dest_ip, dest_port = _side(fields, "destination")
    raw = event.raw
    return EventRecord(
        event_id=uuid7(),
        event_time=moment,
        event_type=event.event_type[:100],
        normalized_data=fields,
        raw_data=raw.replace(NUL, "\ufffd") if NUL in raw else raw,
        source_ip=source_ip,
        dest_ip=dest_ip,
        source_port=source_port,
        dest_port=dest_port,
        protocol=str(transport)[:20].lower(),
        event_type_id=event_type_id,
        batch_id=batch_id,
        dedupe_key=event.dedupe_key[:200] if event.dedupe_key else None,
    )
