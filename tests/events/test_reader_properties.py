"""Properties of the readers that turn what transports receive into records (hypothesis):
request and file bodies (events/readers.py), HEC envelopes (events/api/ingest.py) and
syslog stream framing (events/syslogd/framing.py).

Whatever the bytes, nothing raises; every unit of input (a non-blank line, a JSON value,
a HEC envelope, a frame) comes out as records or as rejections with a reason; records are
what parsers take (text, or a JSON object no deeper than the readers' limit); rejections
carry bytes or text to quarantine. The decoder's buffer never holds more than one
message's worth, however the stream is cut.
"""

from __future__ import annotations

import itertools
import json

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from events.api.ingest import hec_events
from events.parsers import PARSERS, RawRecord, Rejected
from events.readers import MAX_DEPTH, read_body, read_lines, too_deep
from events.syslogd.framing import FrameDecoder
from tests.events.strategies import JSON_VALUES, body_bytes, deep

FORMATS = st.sampled_from(sorted(PARSERS))
CONTENT_TYPES = st.sampled_from(
    ["", "application/json", "application/x-ndjson", "text/plain", "text/plain; charset=utf-16"]
)


def holds_nothing(text: bytes) -> bool:
    """Empty JSON arrays (or CloudTrail files) only, one or several back to back
    (``[][]``): no records, nothing to refuse."""
    values = json_values(text)
    return bool(values) and all(
        value == [] or (isinstance(value, dict) and value.get("Records") == []) for value in values
    )


def json_values(text: bytes) -> list[object]:
    """The JSON values of a body that is nothing but JSON values, else none."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        return [value]
    try:
        rest = text.decode("utf-8")
    except UnicodeDecodeError:
        return []
    decoder, values = json.JSONDecoder(), []
    rest = rest.lstrip()
    while rest:
        try:
            value, end = decoder.raw_decode(rest)
        except ValueError:
            return []
        values.append(value)
        rest = rest[end:].lstrip()
    return values


def assert_answers(decoded) -> None:
    for record in decoded.records:
        assert isinstance(record, RawRecord)
        assert isinstance(record.data, str | dict)
        if isinstance(record.data, dict):
            assert not too_deep(record.data)
    for rejected in decoded.rejected:
        assert isinstance(rejected, Rejected)
        assert rejected.reason.strip() and isinstance(rejected.raw, str | bytes)


@given(body=st.one_of(st.binary(max_size=300), FORMATS.flatmap(body_bytes)), log_format=FORMATS)
def test_read_lines_answers_every_non_blank_line(body, log_format):
    lines = body.splitlines()
    decoded = read_lines(lines, log_format)
    assert_answers(decoded)
    answered = {r.number for r in decoded.records} | {r.number for r in decoded.rejected}
    json_lines = log_format in {"json", "suricata", "cloudtrail", "windows", "zeek"}
    sent = {
        n
        for n, line in enumerate(lines, 1)
        if line.strip() and not (json_lines and holds_nothing(line))
    }
    assert sent <= answered  # a JSON array on one line may answer for more numbers
    if not json_lines:
        assert len(decoded.records) + len(decoded.rejected) == len(sent)


@given(
    body=st.one_of(
        st.binary(max_size=300),
        FORMATS.flatmap(body_bytes),
        JSON_VALUES.map(lambda v: json.dumps(v, indent=2).encode("utf-8", "surrogatepass")),
        st.lists(JSON_VALUES, max_size=4).map(lambda vs: "".join(map(json.dumps, vs)).encode()),
    ),
    log_format=FORMATS,
    content_type=CONTENT_TYPES,
)
@example(body=b"[][]", log_format="json", content_type="")  # found by CI: two empty arrays
@example(body=b"[] []x", log_format="json", content_type="")
def test_read_body_takes_any_bytes(body, log_format, content_type):
    decoded = read_body(body, log_format, content_type)
    assert_answers(decoded)
    if body.strip() and not holds_nothing(body):
        assert decoded.records or decoded.rejected


def test_read_body_cases_of_the_issue() -> None:
    cases = [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a": ' * 10_000 + b"1" + b"}" * 10_000,
        b"[" + b"9" * 100_000 + b"]",
        b'{"a": 1}{"b": ' + b"9" * 100_000 + b"}",
        b'{"a": "\\ud800"}\n{"b": NaN, "c": Infinity, "d": 1e309}',
        b'{"a": 1, "a": 2}',
        b"\xff\xfe{\x00}\x00",
        json.dumps(deep(MAX_DEPTH + 5)).encode(),
        b'[1, "x", null, {"ok": 1}]',
    ]
    for log_format in sorted(PARSERS):
        for body in cases:
            assert_answers(read_body(body, log_format, ""))


ENVELOPE = st.one_of(
    st.fixed_dictionaries(
        {"event": st.one_of(JSON_VALUES, st.just("<13>Feb 1 00:00:00 h a: m"))},
        optional={"time": JSON_VALUES, "host": JSON_VALUES, "fields": JSON_VALUES},
    ),
    JSON_VALUES,
)


@given(
    envelopes=st.lists(ENVELOPE, max_size=5),
    separator=st.sampled_from(["", "\n", " ", "\r\n"]),
    junk=st.one_of(st.none(), st.binary(max_size=30)),
    log_format=FORMATS,
)
def test_hec_answers_every_envelope(envelopes, separator, junk, log_format):
    if any(isinstance(e, int | float) for e in envelopes):
        separator = separator or " "  # "1" "0" written together would be one number
    body = separator.join(json.dumps(e) for e in envelopes).encode("utf-8", "surrogatepass")
    if junk is not None:
        body += b"\n" + junk
    decoded = hec_events(body, log_format)
    assert_answers(decoded)
    numbers = sorted(r.number for r in [*decoded.records, *decoded.rejected])
    assert numbers == list(range(1, len(numbers) + 1))  # one answer per envelope, in order
    if junk is None:
        assert len(numbers) == len(envelopes)
    else:
        assert len(envelopes) <= len(numbers)


def test_hec_cases_of_the_issue() -> None:
    good = b'{"event": "<13>Feb 1 00:00:00 h app: good"}\n'
    for bad in (
        b'{"event": ' + b"9" * 100_000 + b"}",
        b'{"event": "x", "time": ' + b"[" * 10_000,
        b'{"event": "\\ud800\\u0000"}',
        b'{"event": {"a": NaN, "b": ' + b"9" * 5000 + b"}}",
        b"[1, 2, 3]",
        b'{"no event": 1}',
    ):
        decoded = hec_events(good + bad + b"\n" + good, "syslog")
        assert_answers(decoded)
        assert len(decoded.records) >= 2  # the good ones on either side survive


@given(
    stream=st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.sampled_from([b"\n", b"\r\n", b"5 ", b"12 ", b"999999999 ", b"0 ", b"<13>", b" "]),
        ),
        max_size=12,
    ).map(b"".join),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
@example(stream=b"\x00" * 65 + b"\n", cuts=[65])  # a long line refused only when cut
@example(stream=b"a" * 64 + b"\r\n", cuts=[65])
def test_framing_is_the_same_however_the_stream_is_cut(stream, cuts):
    limit = 64
    whole = FrameDecoder(max_message=limit)
    expected = whole.feed(stream) + whole.close()
    decoder = FrameDecoder(max_message=limit)
    got = []
    points = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    for start, end in itertools.pairwise(points):
        got += decoder.feed(stream[start:end])
        assert len(decoder.buffer) <= limit + 11  # one message and its length at most
    got += decoder.close()
    assert [f.problem for f in got] == [f.problem for f in expected]
    for mine, theirs in zip(got, expected, strict=True):
        if mine.problem:  # a sample of a refused frame: as much as had arrived
            assert theirs.data.startswith(mine.data) or mine.data.startswith(theirs.data)
        else:
            assert mine.data == theirs.data
    for frame in got:
        assert len(frame.data) <= max(limit, 512)
        assert frame.data or frame.problem


def test_an_array_inside_an_array_is_refused_not_dropped() -> None:
    """``[[]]`` once came back with neither a record nor a rejection (found by the
    property above): every item of a JSON array answers for itself."""
    decoded = read_body(b'[[], {"a": 1}, [{"b": 2}]]', "json", "application/json")
    assert [r.number for r in decoded.records] == [2]
    assert [(r.number, r.reason) for r in decoded.rejected] == [
        (1, "expected a JSON object"),
        (3, "expected a JSON object"),
    ]


def test_ndjson_depth_is_judged_as_the_full_walk_judges_it() -> None:
    """Lines are let through by counting their brackets, and walked only when there are
    many: the answer at the limit, and with brackets inside strings, is the walk's."""
    lines = []
    for depth in range(MAX_DEPTH - 3, MAX_DEPTH + 3):
        lines.append(json.dumps({"a": deep(depth)}).encode())
        lines.append(json.dumps({"s": "[{" * MAX_DEPTH, "a": deep(depth)}).encode())
    decoded = read_lines(lines, "json")
    kept = {record.number for record in decoded.records}
    for number, line in enumerate(lines, 1):
        assert (number in kept) == (not too_deep(json.loads(line))), line[:80]
    assert decoded.rejected and decoded.records
