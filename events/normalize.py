"""From a parser's ParsedEvent to a row of ``events``: timestamps settled, ECS fields
promoted into the seed's columns, JSON made safe for PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from socapp.ids import uuid7

from .parsers.base import ParsedEvent, ip_or_none, port_or_none
from .parsers.timestamps import brief
from .records import EventRecord

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


def _claimed_iso(moment: datetime) -> str:
    """A replaced time as it was claimed: in UTC when UTC can hold it (year 9999 at
    -14:00 is year 10000 there), else with its own offset."""
    try:
        return _iso(moment)
    except OverflowError:
        return moment.isoformat()


# ---- what PostgreSQL can store ----------------------------------------------------------
# Text columns and jsonb refuse NUL; UTF-8 cannot encode a lone surrogate (JSON lets
# "\ud800" through); orjson writes integers of 64 bits at most and nests 254 levels at
# most. What would be refused is repaired here, before the row joins the batch's COPY
# (where one refused row would abort the whole COPY).

MAX_STORED_DEPTH = 128
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_INT64 = (-(2**63), 2**64 - 1)


def storable_text(value: str) -> str:
    """``value`` with NUL and lone surrogates as U+FFFD (ASCII text costs one scan)."""
    if NUL in value:
        value = value.replace(NUL, "\ufffd")
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value


def _storable(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value  # NaN and infinities: orjson writes null
    if isinstance(value, int):
        if _INT64[0] <= value <= _INT64[1]:
            return value
        return brief(value, limit=10_000)  # kept whole, as text
    if depth >= MAX_STORED_DEPTH:
        return f"(nested deeper than {MAX_STORED_DEPTH} levels)"
    if isinstance(value, dict):
        return {
            storable_text(k if isinstance(k, str) else brief(k)): _storable(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_storable(v, depth + 1) for v in value]
    return storable_text(brief(value, limit=10_000))


def json_for_postgres(document: dict[str, Any]) -> bytes:
    """JSON bytes PostgreSQL's jsonb accepts, whatever ``document`` holds. The common case
    is one orjson call; only a document that needs repair is walked."""
    try:
        encoded = orjson.dumps(document, default=str, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # a lone surrogate, a huge integer, deep nesting
        encoded = orjson.dumps(_storable(document), option=orjson.OPT_NON_STR_KEYS)
    if b"\\u0000" in encoded:
        encoded = orjson.dumps(_storable(document), option=orjson.OPT_NON_STR_KEYS)
    # orjson's bytes keep the buffer it grew (4-8 KiB for an 800-byte document); a batch
    # holds its records' documents until it commits, so keep an exact-size copy.
    return memoryview(encoded).tobytes()


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
    claimed = event.claimed_time
    if replaced and event.timestamp is not None:  # only a claimed time is replaced
        claimed = _claimed_iso(event.timestamp)
    elif claimed is not None:
        replaced = True  # a time no datetime holds: received time, the claim kept
    fields["@timestamp"] = _iso(moment)
    event_object = fields.get("event")
    if type(event_object) is not dict:
        if event_object is not None:
            _socapp(fields)["event"] = event_object  # not ECS-shaped: keep it
        event_object = fields["event"] = {}
    event_object.setdefault("kind", "event")
    event_object["ingested"] = received_iso or _iso(received_at)
    if replaced:
        _socapp(fields)["claimed_timestamp"] = claimed
        tags = fields.get("tags")
        fields["tags"] = [*(tags if isinstance(tags, list) else []), "timestamp_replaced"]
    network = fields.get("network")
    transport = (
        (network.get("transport") or network.get("protocol") or "") if type(network) is dict else ""
    )
    if not isinstance(transport, str | int):
        transport = ""
    source_ip, source_port = _side(fields, "source")
    dest_ip, dest_port = _side(fields, "destination")
    return EventRecord(
        event_id=uuid7(),
        event_time=moment,
        event_type=event_type_name(event.event_type),
        normalized_data=fields,
        raw_data=storable_text(event.raw),
        source_ip=source_ip,
        dest_ip=dest_ip,
        source_port=source_port,
        dest_port=dest_port,
        protocol=storable_text(brief(transport, limit=20)[:20].lower()),
        event_type_id=event_type_id,
        batch_id=batch_id,
        dedupe_key=storable_text(event.dedupe_key[:200]) if event.dedupe_key else None,
    )


def _socapp(fields: dict[str, Any]) -> dict[str, Any]:
    """socapp's own notes on an event; a record's own non-object ``socapp`` is kept in it."""
    notes = fields.get("socapp")
    if type(notes) is not dict:
        notes = fields["socapp"] = {} if notes is None else {"original": notes}
    return notes


def event_type_name(name: str) -> str:
    """The event type as stored (and as its ``event_types`` row is named): 100 characters
    of storable text."""
    return storable_text(name[:100]) or "unknown"
