"""Ingestion over HTTP: ``POST /api/v1/ingest/`` and the Splunk HEC-compatible intake.

Both authenticate a *source* by its ingest token, read the body (gzip accepted, size
bounded), decode it into records and call ``events_ingest``, which returns only after the
batch is committed: a 200 means the events are stored.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from socapp.tokens import PERSONAL_PREFIX, SOURCE_PREFIX

from ..ingest import IdempotencyConflict, body_digest, events_ingest
from ..models import Source
from ..parsers.base import RawRecord, Rejected
from ..readers import (
    JSON_FORMATS,
    MAX_RECORD_BYTES,
    TEXT_FORMATS,
    Decoded,
    decode_text,
    json_problem,
    json_text,
    read_body,
    too_deep,
)
from ..selectors import source_for_token

RETRY_AFTER = "5"


class BodyTooLarge(Exception):
    pass


def _token_from(request: Request, schemes: tuple[str, ...]) -> str | None:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() in schemes and token.strip() else None


def authenticate_source(
    request: Request, schemes: tuple[str, ...] = ("bearer",)
) -> Source | Response:
    token = _token_from(request, schemes)
    if token is None:
        return _error(401, "Send the source's ingest token: 'Authorization: Bearer <token>'.")
    if token.startswith(PERSONAL_PREFIX):
        return _error(
            401,
            "This is a personal API token; ingestion takes a source ingest "
            "token (manage.py source_create, or the source's admin page).",
        )
    source = source_for_token(token) if token.startswith(SOURCE_PREFIX) else None
    if source is None:
        return _error(401, "Unknown or revoked ingest token.")
    if not source.is_active:
        return _error(403, f"Source {source.name!r} is inactive; an admin can reactivate it.")
    return source


def _error(code: int, detail: str, **extra: Any) -> Response:
    response = Response({"detail": detail, **extra}, status=code)
    if code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="ingest"'
    if code == 503:
        response["Retry-After"] = RETRY_AFTER
    return response


def read_request_body(request: Request) -> bytes:
    """The body, un-gzipped, never more than INGEST_MAX_BODY_BYTES (before or after)."""
    limit = settings.INGEST_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    data = request._request.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLarge
    if request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip" or data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data, limit + 1)
        except zlib.error as exc:
            raise ValueError(f"the gzip body is corrupt: {exc}") from exc
        if len(data) > limit or inflater.unconsumed_tail:
            raise BodyTooLarge
        if not inflater.eof:
            raise ValueError("the gzip body is truncated")
    return data


def run_ingest(
    request: Request, source: Source, decoded: Decoded, data: bytes, transport: str
) -> Response | Any:
    key = request.META.get("HTTP_IDEMPOTENCY_KEY") or None
    if key is not None and len(key) > 255:
        return _error(400, "The Idempotency-Key header is longer than 255 characters.")
    try:
        return events_ingest(
            source=source,
            records=decoded.records,
            rejected=decoded.rejected,
            transport=transport,
            idempotency_key=key,
            digest=body_digest(data),
            size=len(data),
        )
    except IdempotencyConflict as exc:
        return _error(409, str(exc))
    except DatabaseError:
        return _error(503, "The database is unavailable; nothing was stored. Retry later.")


INGEST_RESULT = inline_serializer(
    "IngestResult",
    {
        "batch_id": serializers.UUIDField(),
        "accepted": serializers.IntegerField(help_text="events stored"),
        "duplicates": serializers.IntegerField(help_text="events already stored before"),
        "quarantined": serializers.IntegerField(help_text="records that could not be parsed"),
        "errors": serializers.ListField(
            child=inline_serializer(
                "IngestError",
                {
                    "line": serializers.IntegerField(allow_null=True),
                    "reason": serializers.CharField(),
                },
            )
        ),
    },
)
ERROR = inline_serializer("IngestProblem", {"detail": serializers.CharField()})


class IngestView(APIView):
    """Send a batch of log records for the source the token belongs to.

    Body: NDJSON (``application/x-ndjson``), a JSON array (``application/json``) or raw
    lines (``text/plain``), gzip accepted (``Content-Encoding: gzip``). The answer comes
    after the batch is committed. With an ``Idempotency-Key`` header, the same key and
    body get the first answer again and store nothing; the same key with another body is
    409.
    """

    authentication_classes: list = []
    permission_classes: list = []  # the source token is checked below
    parser_classes: list = []  # the body is read raw

    @extend_schema(
        operation_id="ingest_create",
        auth=[{"sourceIngestToken": []}],
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Retry-safe key, at most 255 characters",
            )
        ],
        request={
            "application/x-ndjson": OpenApiTypes.STR,
            "application/json": OpenApiTypes.STR,
            "text/plain": OpenApiTypes.STR,
        },
        responses={
            200: INGEST_RESULT,
            **{
                code: OpenApiResponse(ERROR, description=why)
                for code, why in (
                    (400, "unreadable body"),
                    (401, "missing or bad token"),
                    (403, "inactive source"),
                    (409, "idempotency key reused"),
                    (413, "body too large"),
                    (503, "database down; Retry-After"),
                )
            },
        },
    )
    def post(self, request: Request) -> Response:
        source = authenticate_source(request)
        if isinstance(source, Response):
            return source
        try:
            data = read_request_body(request)
        except BodyTooLarge:
            return _error(
                413,
                f"The body is larger than {settings.INGEST_MAX_BODY_BYTES} bytes; "
                "send smaller batches.",
            )
        except ValueError as exc:
            return _error(400, str(exc))
        decoded = read_body(data, source.format, request.META.get("CONTENT_TYPE", ""))
        result = run_ingest(request, source, decoded, data, "api")
        if isinstance(result, Response):
            return result
        return Response(result.as_dict(), status=status.HTTP_200_OK)


# ---- Splunk HTTP Event Collector --------------------------------------------------------

HEC_SCHEMES = ("splunk", "bearer")


def _hec(code: int, text: str, hec_code: int, **extra: Any) -> Response:
    response = Response({"text": text, "code": hec_code, **extra}, status=code)
    if code == 503:
        response["Retry-After"] = RETRY_AFTER
    return response


def _hec_auth(request: Request) -> Source | Response:
    source = authenticate_source(request, HEC_SCHEMES)
    if isinstance(source, Response):
        if source.status_code == 401:
            return _hec(
                401,
                "Invalid token" if _token_from(request, HEC_SCHEMES) else "Token is required",
                4 if _token_from(request, HEC_SCHEMES) else 2,
            )
        return _hec(403, "Token disabled", 1)
    return source


def hec_events(data: bytes, log_format: str) -> Decoded:
    """HEC event bodies: JSON objects one after the other (not necessarily one per line),
    each ``{"event": <string or object>, "time": ..., "host": ..., "fields": {...}}``."""
    text, _ = decode_text(data)
    decoder = json.JSONDecoder()
    decoded = Decoded()
    position, number = 0, 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        number += 1
        start = position
        try:
            envelope, position = decoder.raw_decode(text, position)
        except (ValueError, RecursionError) as exc:  # ValueError: a number of 4,300+ digits
            # Envelopes usually come one per line: the bad one costs its line, the next
            # line is read again.
            end = text.find("\n", position)
            end = len(text) if end < 0 else end + 1
            decoded.rejected.append(
                Rejected(number, text[position:end][:4096], f"not JSON: {json_problem(exc)}")
            )
            position = end
            continue
        if not isinstance(envelope, dict) or "event" not in envelope:
            decoded.rejected.append(
                Rejected(number, json_text(envelope), "a HEC event needs an 'event' field")
            )
            continue
        if position - start > MAX_RECORD_BYTES:  # the same bound as a line of any body
            decoded.rejected.append(
                Rejected(
                    number,
                    text[start : start + 4096],
                    f"record longer than {MAX_RECORD_BYTES} bytes",
                )
            )
            continue
        _hec_record(decoded, number, envelope, log_format)
    return decoded


def _hec_record(decoded: Decoded, number: int, envelope: dict, log_format: str) -> None:
    event = envelope["event"]
    if (
        isinstance(event, str)
        and log_format in JSON_FORMATS | {"zeek"}
        and event.lstrip()[:1] == "{"
    ):
        with contextlib.suppress(ValueError, RecursionError):  # not JSON: the text is the event
            event = json.loads(event)
    if isinstance(event, dict):
        if too_deep(event):
            decoded.rejected.append(Rejected(number, json_text(event), "JSON nested too deeply"))
            return
        if "time" in envelope and not any(k in event for k in ("time", "timestamp", "@timestamp")):
            event = {**event, "time": envelope["time"]}
        if log_format in TEXT_FORMATS and isinstance(event.get("message"), str):
            event = event["message"]
    elif not isinstance(event, str):
        event = json_text(event, limit=MAX_RECORD_BYTES).decode("utf-8", errors="replace")
    decoded.records.append(RawRecord(number, event))


@extend_schema(exclude=True)
class HecEventView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    parser_classes: list = []
    raw = False

    def post(self, request: Request) -> Response:
        source = _hec_auth(request)
        if isinstance(source, Response):
            return source
        try:
            data = read_request_body(request)
        except BodyTooLarge:
            return _hec(413, "Content too large", 27)
        except ValueError:
            return _hec(400, "Invalid data format", 6)
        if not data.strip():
            return _hec(400, "No data", 5)
        decoded = (
            read_body(data, source.format, "text/plain")
            if self.raw
            else hec_events(data, source.format)
        )
        result = run_ingest(request, source, decoded, data, "hec")
        if isinstance(result, Response):
            if result.status_code == 503:
                return _hec(503, "Server is busy", 9)
            return _hec(result.status_code, result.data["detail"], 6)
        return _hec(
            200,
            "Success",
            0,
            batch_id=result.batch_id,
            accepted=result.accepted,
            quarantined=result.quarantined,
        )


class HecRawView(HecEventView):
    raw = True


@extend_schema(exclude=True)
class HecHealthView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        return _hec(200, "HEC is healthy", 17)
