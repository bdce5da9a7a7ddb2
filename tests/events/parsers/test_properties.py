"""Properties every parser keeps, whatever it is given (hypothesis).

- Nothing escapes but our own answers: a ParsedEvent, or a Rejected with a reason in
  words. No reason comes from the safety net (``failure_reason`` naming an exception
  type): each problem a generated record can have is one a parser recognises.
- Every record in is exactly one event or one rejection, or one of the documented
  skips (blank lines, Zeek ``#`` headers, syslog continuation lines).
- What is accepted is storable: normalized and encoded, it holds nothing PostgreSQL
  refuses (NUL, lone surrogates, integers jsonb-unsafe for orjson, times outside the
  events table's range).

Examples per property: 200 (``HYPOTHESIS_PROFILE=long`` for bench runs).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.normalize import EARLIEST, MAX_FUTURE_SKEW, json_for_postgres, to_record
from events.parsers import (
    PARSERS,
    ParseContext,
    ParsedEvent,
    RawRecord,
    Rejected,
    parser_for,
    syslog_programs,
)
from events.parsers.netfilter import kernel
from events.parsers.snort_alert import from_syslog as snort
from tests.events.strategies import ANY_TEXT, deep, record_data, shaped_text

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CONTEXTS = st.sampled_from(
    [
        ParseContext(received_at=RECEIVED),
        ParseContext(received_at=RECEIVED, time_zone=ZoneInfo("Pacific/Kiritimati")),
        ParseContext(received_at=datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), sender="::1"),
    ]
)
# How the safety net words a reason: "<where>: <kind> (<ExceptionType>: ...)".
SAFETY_NET = re.compile(r"\((?:[A-Z]\w*(?:Error|Exception|Exit)|StopIteration)\b")
_PRI = re.compile(r"<(\d{1,3})>")


def skipped(log_format: str, records: list[RawRecord], index: int) -> bool:
    """The documented records that make neither an event nor a rejection."""
    data = records[index].data
    if not isinstance(data, str):
        return False
    line = data.rstrip("\r\n")
    if not line.strip():
        return True
    if log_format == "zeek":
        return line.startswith("#")
    if log_format == "syslog":  # a continuation of the message before it
        earlier = any(
            isinstance(r.data, str) and r.data.rstrip("\r\n").strip() for r in records[:index]
        )
        return earlier and line[:1] in (" ", "\t") and not _PRI.match(line)
    return False


def assert_storable(event: ParsedEvent) -> None:
    record = to_record(event, received_at=RECEIVED, received_iso="2026-03-01T12:00:00Z")
    encoded = json_for_postgres(record.normalized_data)
    assert b"\\u0000" not in encoded
    encoded.decode("utf-8")  # strict: no lone surrogates made it through
    assert isinstance(orjson.loads(encoded), dict)
    for text in (record.raw_data, record.event_type, record.protocol, record.dedupe_key or ""):
        assert "\x00" not in text
        text.encode("utf-8")
    assert 0 < len(record.event_type) <= 100 and len(record.protocol) <= 20
    assert EARLIEST <= record.event_time <= RECEIVED + MAX_FUTURE_SKEW


def check(log_format: str, data: list[Any], context: ParseContext) -> list[Any]:
    records = [RawRecord(number, item) for number, item in enumerate(data, 1)]
    results = list(parser_for(log_format)(records, context))
    per_number: dict[int, list[Any]] = {}
    for result in results:
        assert isinstance(result, ParsedEvent | Rejected), result
        per_number.setdefault(result.number, []).append(result)
        if isinstance(result, Rejected):
            assert isinstance(result.reason, str) and result.reason.strip()
            assert not SAFETY_NET.search(result.reason), result.reason
            assert isinstance(result.raw, str | bytes)
        else:
            assert_storable(result)
    for index, record in enumerate(records):
        answers = per_number.pop(record.number, [])
        expected = 0 if skipped(log_format, records, index) else 1
        assert len(answers) == expected, (record, answers)
    assert not per_number  # no answer for a record that was not sent
    return results


@pytest.mark.parametrize("log_format", sorted(PARSERS))
@given(data=st.data(), context=CONTEXTS)
def test_a_parser_answers_every_record_and_raises_nothing(log_format, data, context):
    records = data.draw(st.lists(record_data(log_format), max_size=4))
    check(log_format, records, context)


@pytest.mark.parametrize("log_format", ["syslog", "cef", "leef", "access", "zeek", "snort"])
@given(data=st.data(), context=CONTEXTS)
def test_text_shaped_like_the_format_reaches_deep_and_raises_nothing(log_format, data, context):
    lines = data.draw(st.lists(shaped_text(log_format), min_size=1, max_size=6))
    check(log_format, lines, context)


@pytest.mark.parametrize("log_format", sorted(PARSERS))
def test_the_cases_of_the_issue_cost_one_record_each(log_format):
    """The records that made a whole batch fail (issue 11), each beside a good one."""
    bad: list[Any] = [
        {"@timestamp": -99999999999, "EventID": 1, "eventName": "x", "eventTime": 1e20},
        {"@timestamp": 1e20, "ts": 1e300, "event_type": "dns", "dns": {"queries": [1]}},
        {"ts": "\ud800", "message": "\ud800\x00", "EventID": "\ud800"},
        {"x": 10**4000, "EventID": 4625, "TimeCreated": 2**70},
        deep(60),
        {"a." * 300 + "b": 1, "b." * 5000 + "c": 2},
        "CEF:0|v|p|1|sig|name|5|rt=99999999999999999999 cn1=" + "9" * 5000,
        "CEF:0|v|p|1|sig|name|²|cnt=--5 end=²",
        "LEEF:2.0|v|p|1|id|\\x|src=1.2.3.4",
        "LEEF:2.0|v|p|1|id|x110000|src=1.2.3.4",
        "LEEF:1.0|v|p|1|id|devTime=99999999999999999",
        "<1>1 9999-12-31T23:59:59-23:59 h a p m - x",
        "type=SYSCALL msg=audit(99999999999999999999.1:1): argc=999999999 a0=41",
        "#separator \\xZZ",
        "#set_separator\t",
        '1.2.3.4 - - [31/Dec/9999:23:59:59 -2359] "GET / HTTP/1.1" 200 1',
        "\ud800" * 3,
    ]
    for record in bad:
        results = check(log_format, [record], ParseContext(received_at=RECEIVED))
        assert len(results) <= 1


def test_unbelievable_times_keep_the_event_with_the_claim() -> None:
    """A time no datetime holds is a claim like one too far in the future: the event is
    stored at the time it was received, tagged, the claim kept (not quarantined: a
    sender must not be able to hide an event by giving it a silly time)."""
    for claimed in (-99999999999, 1e20, "9999-12-31T23:59:59-14:00"):
        [event] = check("json", [{"@timestamp": claimed}], ParseContext(received_at=RECEIVED))
        record = to_record(event, received_at=RECEIVED)
        assert record.event_time == RECEIVED
        assert "timestamp_replaced" in record.normalized_data["tags"]
        assert record.normalized_data["socapp"]["claimed_timestamp"]


@given(message=st.one_of(shaped_text("syslog"), shaped_text("snort"), ANY_TEXT))
def test_syslog_program_parsers_take_any_message(message):
    for handler in (
        syslog_programs.sshd,
        syslog_programs.sudo,
        syslog_programs.su,
        syslog_programs.pam,
        syslog_programs.user_management,
        kernel,
        snort,
    ):
        doc: dict[str, Any] = {"host": {"hostname": "h"}}
        assert handler(message, doc) is None or isinstance(handler(message, {}), str)
        json_for_postgres(doc)


def test_a_parser_whose_own_loop_breaks_costs_one_record() -> None:
    """The last line of defence (``isolated``, around every parser ``parser_for`` gives):
    a parser that raises between records, outside any per-record guard, still answers
    for every other record of the batch."""
    from events.parsers.base import isolated

    def brittle(records, context):
        for record in records:
            if record.data == "boom":
                raise KeyError("state the loop kept across records")
            yield from parser_for("syslog")([record], context)

    lines = ["<13>Feb  1 10:00:00 h app: one", "<13>Feb  1 10:00:00 h app: two", "boom"]
    lines += ["<13>Feb  1 10:00:00 h app: four", "<13>Feb  1 10:00:00 h app: five"]
    records = [RawRecord(n, line) for n, line in enumerate(lines, 1)]
    results = list(isolated(brittle, "brittle")(records, ParseContext(received_at=RECEIVED)))
    assert [(r.number, type(r).__name__) for r in results] == [
        (1, "ParsedEvent"),
        (2, "ParsedEvent"),
        (3, "Rejected"),
        (4, "ParsedEvent"),
        (5, "ParsedEvent"),
    ]
    assert isinstance(results[2], Rejected)
    assert results[2].reason.startswith("brittle: a missing or unexpected field (KeyError")
