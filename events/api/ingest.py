"""Ingestion over HTTP: ``POST /api/v1/ingest/`` and the Splunk HEC-compatible intake.

Both authenticate a *source* by its ingest token (refused tokens count against the
client address: past the limit, 429 with Retry-After), read the body (gzip accepted),
decode it into records and call ``events_ingest``, which returns only after the batch is
committed: a 200 means the events are stored.

A body costs bounded work and memory whatever it holds: at most INGEST_MAX_BODY_BYTES as
sent and as inflated (a gzip body is inflated as a stream, twice, never kept inflated),
at most INGEST_MAX_RECORDS records (lines are counted before any is parsed; JSON
documents and HEC events as they are read, the batch rolled back past the limit), and a
bounded quarantine (``events.quarantine``). Over a limit: 413 and nothing stored.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
from collections.abc import Callable, Iterator
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

from socapp.audit import request_addr
from socapp.audit_access import audit_token_failure
from socapp.throttling import TOO_MANY, token_failure_record, token_failures_wait
from socapp.tokens import PERSONAL_PREFIX, SOURCE_PREFIX

from ..inflate import (
    BLOCK,
    Budget,
    GzipReader,
    InputRefused,
    Limits,
    Prefixed,
    Stream,
    read_head,
)
from ..ingest import IdempotencyConflict, IngestResult, events_ingest
from ..models import Source
from ..parsers.base import RawRecord, Rejected
from ..readers import (
    JSON_FORMATS,
    JSON_OR_TEXT_FORMATS,
    MAX_RECORD_BYTES,
    TEXT_FORMATS,
    Decoded,
    Item,
    JsonText,
    at_most,
    count_lines,
    is_document,
    json_text,
    stream_records,
    too_deep,
    too_many_records,
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
    address = request_addr(request)
    wait = token_failures_wait(address)
    if wait is not None:
        return _error(429, TOO_MANY, retry_after=wait)
    source = _source_for(request, token)
    if isinstance(source, Response) and source.status_code == 401:
        token_failure_record(address)  # a token we do not know (an inactive source's we do)
    return source


def _source_for(request: Request, token: str) -> Source | Response:
    if token.startswith(PERSONAL_PREFIX):
        return _refused(
            request,
            token,
            401,
            "This is a personal API token; ingestion takes a source ingest "
            "token (manage.py source_create, or the source's admin page).",
        )
    source = source_for_token(token) if token.startswith(SOURCE_PREFIX) else None
    if source is None:
        return _refused(request, token, 401, "Unknown or revoked ingest token.")
    if not source.is_active:
        reason = f"Source {source.name!r} is inactive; an admin can reactivate it."
        return _refused(request, token, 403, reason, source)
    return source


def _refused(
    request: Request, token: str, code: int, detail: str, source: Source | None = None
) -> Response:
    """The answer to a token that did not get in, its use audited (a flood of them
    writes a bounded number of entries: socapp.audit_access)."""
    audit_token_failure(request, reason=detail, presented=token, target=source)
    return _error(code, detail)


def _error(code: int, detail: str, *, retry_after: int | None = None, **extra: Any) -> Response:
    response = Response({"detail": detail, **extra}, status=code)
    if code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="ingest"'
    if code == 503:
        response["Retry-After"] = RETRY_AFTER
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


class RequestBody:
    """A request's body as sent (at most INGEST_MAX_BODY_BYTES), inflated as a stream
    each time it is read: never held inflated, never split into a list."""

    def __init__(self, sent: bytes, gzipped: bool) -> None:
        self.sent = sent
        self.gzipped = gzipped
        self.digest = ""  # of the content (inflated): a retry compressed anew is the same
        self.size = 0
        self.blank = True

    def open(self) -> Stream:
        plain = io.BytesIO(self.sent)
        if not self.gzipped:
            return plain
        return GzipReader(plain, Budget(Limits.for_requests()), "The gzip body")

    def survey(self, *, lines: Callable[[bytes], bool]) -> None:
        """The first pass: inflate (bounded), hash, measure and, when the records are
        lines (``lines`` looks at the head), count them, so that an oversized body is
        refused before anything is parsed. Raises ``TooLarge``, ``TooManyRecords`` or
        ``Damaged``."""
        measured = _Measured(self.open())
        head = read_head(measured, MAX_RECORD_BYTES + 1)
        if lines(head):
            limit = settings.INGEST_MAX_RECORDS
            if count_lines(Prefixed(head, measured), limit) > limit:
                raise too_many_records(limit)
        while measured.read(BLOCK):
            pass
        self.digest = measured.sha256.hexdigest()
        self.size, self.blank = measured.size, measured.blank


class _Measured:
    """A stream, hashed and measured as it is read."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.blank = True

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self.sha256.update(data)
        self.size += len(data)
        if self.blank and data.strip():
            self.blank = False
        return data


def read_request_body(request: Request) -> RequestBody:
    """The body as sent: ``BodyTooLarge`` past INGEST_MAX_BODY_BYTES."""
    limit = settings.INGEST_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    data = request._request.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLarge
    gzipped = (
        request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip" or data[:2] == b"\x1f\x8b"
    )
    return RequestBody(data, gzipped)


def run_ingest(
    request: Request, source: Source, records: Iterator[Item], body: RequestBody, transport: str
) -> Response | Any:
    key = request.META.get("HTTP_IDEMPOTENCY_KEY") or None
    if key is not None and len(key) > 255:
        return _error(400, "The Idempotency-Key header is longer than 255 characters.")
    try:
        return events_ingest(
            source=source,
            records=at_most(records, settings.INGEST_MAX_RECORDS),
            transport=transport,
            idempotency_key=key,
            digest=body.digest,
            size=body.size,
        )
    except IdempotencyConflict as exc:
        return _error(409, str(exc))
    except InputRefused as exc:  # too many records, found while reading: rolled back
        return _error(exc.status, str(exc))
    except DatabaseError:
        return _error(503, "The database is unavailable; nothing was stored. Retry later.")


def nothing_parsed(result: IngestResult) -> bool:
    """No record of the body was taken (not even as a duplicate of one stored before)
    and at least one was quarantined: the answer is a 400, because shippers that read
    only the status would otherwise count a body of garbage as delivered. The records
    stay in the quarantine all the same, and an idempotent replay answers 400 again."""
    return result.accepted == 0 and result.duplicates == 0 and result.quarantined > 0


def nothing_parsed_detail(result: IngestResult) -> str:
    records = "record" if result.quarantined == 1 else f"{result.quarantined:,} records"
    return (
        f"No record could be parsed: the {records} of this body went to the quarantine "
        f"(batch {result.batch_id}) and no event was stored; `errors` gives each line's "
        "reason. Check the source's log format."
    )


_ERROR_ITEM = inline_serializer(
    "IngestError",
    {"line": serializers.IntegerField(allow_null=True), "reason": serializers.CharField()},
)


def _errors(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=copy.deepcopy(_ERROR_ITEM), **kwargs)


INGEST_REFUSED = inline_serializer(
    "IngestRefused",
    {
        "detail": serializers.CharField(),
        "batch_id": serializers.UUIDField(
            required=False, help_text="Only when no record could be parsed, as the rest below."
        ),
        "accepted": serializers.IntegerField(required=False),
        "duplicates": serializers.IntegerField(required=False),
        "quarantined": serializers.IntegerField(required=False),
        "errors": _errors(required=False),
    },
)
INGEST_RESULT = inline_serializer(
    "IngestResult",
    {
        "batch_id": serializers.UUIDField(),
        "accepted": serializers.IntegerField(help_text="events stored"),
        "duplicates": serializers.IntegerField(help_text="events already stored before"),
        "quarantined": serializers.IntegerField(help_text="records that could not be parsed"),
        "errors": _errors(),
    },
)
ERROR = inline_serializer("IngestProblem", {"detail": serializers.CharField()})


class IngestView(APIView):
    """Send a batch of log records for the source the token belongs to.

    Body: NDJSON (``application/x-ndjson``), a JSON array (``application/json``) or raw
    lines (``text/plain``), gzip accepted (``Content-Encoding: gzip``). The answer comes
    after the batch is committed. With an ``Idempotency-Key`` header, the same key and
    body get the first answer again and store nothing; the same key with another body is
    409. A body of which no record could be parsed is a 400 with the per-line reasons
    (its records are quarantined all the same); one with any good record is a 200.
    """

    authentication_classes: list = []
    permission_classes: list = []  # the source token is checked below
    parser_classes: list = []  # the body is read raw

    @extend_schema(
        operation_id="ingest_create",
        # A security requirement object: drf-spectacular takes one, its types want names.
        auth=[{"sourceIngestToken": []}],  # type: ignore[list-item]
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
            400: OpenApiResponse(
                INGEST_REFUSED,
                description="unreadable body (corrupt or truncated gzip), or no record of "
                "it could be parsed: then the records are quarantined and the answer carries "
                "the counts and each line's reason, as a 200 would",
            ),
            **{
                code: OpenApiResponse(ERROR, description=why)
                for code, why in (
                    (401, "missing or bad token"),
                    (403, "inactive source"),
                    (409, "idempotency key reused"),
                    (
                        413,
                        "body too large (INGEST_MAX_BODY_BYTES, sent or inflated), more "
                        "than INGEST_MAX_RECORDS records, or a decompression bomb "
                        "(DECOMPRESSION_MAX_RATIO); nothing stored",
                    ),
                    (429, "too many refused tokens from this address; Retry-After"),
                    (503, "database down; Retry-After"),
                )
            },
        },
    )
    def post(self, request: Request) -> Response:
        source = authenticate_source(request)
        if isinstance(source, Response):
            return source
        content_type = request.META.get("CONTENT_TYPE", "")
        try:
            body = read_request_body(request)
            body.survey(lines=lambda head: not is_document(head, source.format, content_type))
        except BodyTooLarge:
            return _error(
                413,
                f"The body is larger than {settings.INGEST_MAX_BODY_BYTES} bytes; "
                "send smaller batches.",
            )
        except InputRefused as exc:
            return _error(exc.status, str(exc))
        records = stream_records(body.open(), source.format, content_type)
        result = run_ingest(request, source, records, body, "api")
        if isinstance(result, Response):
            return result
        if nothing_parsed(result):
            answer = {"detail": nothing_parsed_detail(result), **result.as_dict()}
            return Response(answer, status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict(), status=status.HTTP_200_OK)


# ---- Splunk HTTP Event Collector --------------------------------------------------------

HEC_SCHEMES = ("splunk", "bearer")


def _hec(
    code: int, text: str, hec_code: int, *, retry_after: str | None = None, **extra: Any
) -> Response:
    response = Response({"text": text, "code": hec_code, **extra}, status=code)
    if code == 503:
        response["Retry-After"] = RETRY_AFTER
    if retry_after is not None:
        response["Retry-After"] = retry_after
    return response


def _hec_auth(request: Request) -> Source | Response:
    source = authenticate_source(request, HEC_SCHEMES)
    if isinstance(source, Response):
        if source.status_code == 429:
            return _hec(429, TOO_MANY, 9, retry_after=source["Retry-After"])
        if source.status_code == 401:
            return _hec(
                401,
                "Invalid token" if _token_from(request, HEC_SCHEMES) else "Token is required",
                4 if _token_from(request, HEC_SCHEMES) else 2,
            )
        return _hec(403, "Token disabled", 1)
    return source


def hec_records(stream: Stream, log_format: str) -> Iterator[Item]:
    """HEC event bodies: JSON objects one after the other (not necessarily one per line),
    each ``{"event": <string or object>, "time": ..., "host": ..., "fields": {...}}``,
    read one at a time."""
    text = JsonText(stream)
    number = 0
    while text.peek():
        number += 1
        try:
            envelope = text.value()
        except ValueError as exc:
            # Envelopes usually come one per line: the bad one costs its line, the next
            # line is read again.
            yield Rejected(number, text.skip_line(), f"not JSON: {exc}")
            continue
        if not isinstance(envelope, dict) or "event" not in envelope:
            yield Rejected(number, json_text(envelope), "a HEC event needs an 'event' field")
            continue
        yield _hec_record(number, envelope, log_format, text.last_raw)


def hec_events(data: bytes, log_format: str) -> Decoded:
    """A whole HEC body at once (tests and tools; the endpoint streams)."""
    decoded = Decoded()
    for item in hec_records(io.BytesIO(data), log_format):
        if isinstance(item, Rejected):
            decoded.rejected.append(item)
        else:
            decoded.records.append(item)
    return decoded


def _hec_record(number: int, envelope: dict, log_format: str, raw: bytes) -> Item:
    event = envelope["event"]
    if (
        isinstance(event, str)
        and log_format in JSON_FORMATS | JSON_OR_TEXT_FORMATS
        and event.lstrip()[:1] == "{"
    ):
        with contextlib.suppress(ValueError, RecursionError):  # not JSON: the text is the event
            event = json.loads(event)
    if isinstance(event, dict):
        if too_deep(event):
            return Rejected(number, json_text(event), "JSON nested too deeply")
        if "time" in envelope and not any(k in event for k in ("time", "timestamp", "@timestamp")):
            event = {**event, "time": envelope["time"]}
        if log_format in TEXT_FORMATS and isinstance(event.get("message"), str):
            event = event["message"]
    elif not isinstance(event, str):
        event = json_text(event, limit=MAX_RECORD_BYTES).decode("utf-8", errors="replace")
    return RawRecord(number, event)


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
            body = read_request_body(request)
            body.survey(lines=lambda head: self.raw)
        except BodyTooLarge:
            return _hec(413, "Content too large", 27)
        except InputRefused as exc:
            if exc.status == 413:
                return _hec(413, "Content too large", 27, detail=str(exc))
            return _hec(400, "Invalid data format", 6, detail=str(exc))
        if body.blank:
            return _hec(400, "No data", 5)
        records = (
            stream_records(body.open(), source.format, "text/plain")
            if self.raw
            else hec_records(body.open(), source.format)
        )
        result = run_ingest(request, source, records, body, "hec")
        if isinstance(result, Response):
            if result.status_code == 503:
                return _hec(503, "Server is busy", 9)
            if result.status_code == 413:
                return _hec(413, "Content too large", 27, detail=result.data["detail"])
            return _hec(result.status_code, result.data["detail"], 6)
        counts = {
            "batch_id": result.batch_id,
            "accepted": result.accepted,
            "quarantined": result.quarantined,
        }
        if nothing_parsed(result):
            # Splunk's own answer to events it cannot read, with our reasons added.
            detail = nothing_parsed_detail(result)
            return _hec(
                400, "Invalid data format", 6, detail=detail, **counts, errors=result.errors
            )
        return _hec(200, "Success", 0, **counts)


class HecRawView(HecEventView):
    raw = True


@extend_schema(exclude=True)
class HecHealthView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        return _hec(200, "HEC is healthy", 17)
