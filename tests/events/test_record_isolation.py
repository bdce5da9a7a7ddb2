"""One bad record costs that record, never the batch (issue 11).

Each record that used to turn a whole batch into a 500 (100 good lines + 1 bad = 0
stored) is sent beside 100 good ones: the 100 are stored, the bad one is quarantined
with a reason in words, or stored when it is only its time that cannot be believed. A
file that cannot be read at all is a 400 (a command error) that says why.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.ingest import events_ingest
from events.models import Event, IngestBatch, QuarantinedRecord
from events.parsers import PARSERS, RawRecord
from events.services import source_create
from tests.events.strategies import record_data

GOOD = {
    "json": lambda n: json.dumps({"@timestamp": "2026-03-01T10:00:00Z", "message": f"ok {n}"}),
    "cef": lambda n: f"CEF:0|V|P|1|100|Good|5|src=10.0.0.1 msg=ok {n}",
    "leef": lambda n: f"LEEF:1.0|V|P|1|id|src=10.0.0.1\tmsg=ok {n}",
    "syslog": lambda n: f"<13>Feb  1 10:00:00 h app: ok {n}",
    "zeek": lambda n: json.dumps({"ts": 1772359200 + n, "uid": f"C{n}", "_path": "conn"}),
    "windows": lambda n: json.dumps({"EventID": 4624, "EventRecordID": n, "Channel": "Security"}),
    "cloudtrail": lambda n: json.dumps(
        {"eventName": "GetObject", "eventTime": "2026-03-01T10:00:00Z", "eventID": f"e{n}"}
    ),
}
QUARANTINED, TIME_REPLACED, STORED = "quarantined", "time replaced", "stored"
# (format, the bad record, what becomes of it) as the issue lists them.
ISSUE_CASES = [
    ("json", '{"@timestamp": -99999999999, "message": "m"}', TIME_REPLACED),
    ("json", '{"@timestamp": 1e20, "message": "m"}', TIME_REPLACED),
    ("json", '{"x": ' + "9" * 100_000 + "}", QUARANTINED),
    ("json", '{"message": "\\ud800"}', QUARANTINED),  # orjson refuses a lone surrogate
    ("cloudtrail", '{"eventName": "x", "eventTime": 1e20}', TIME_REPLACED),
    ("windows", '{"EventID": 1, "TimeCreated": -99999999999}', TIME_REPLACED),
    ("zeek", '{"ts": 1e300, "uid": "x"}', QUARANTINED),
    ("cef", "CEF:0|V|P|1|100|name|5|rt=99999999999999999999", TIME_REPLACED),
    ("cef", "CEF:0|V|P|1|100|name|5|cn1=" + "9" * 5000, STORED),
    ("leef", "LEEF:2.0|V|P|1|id|\\x|src=1.2.3.4", QUARANTINED),
    ("leef", "LEEF:2.0|V|P|1|id|x110000|src=1.2.3.4", QUARANTINED),
    ("syslog", "<1>1 9999-12-31T23:59:59-23:59 h a p m - x", QUARANTINED),
    ("syslog", "type=SYSCALL msg=audit(99999999999999999999.1:1): a=b", QUARANTINED),
]


@pytest.fixture
def source_for(team_a):
    def make(log_format: str):
        return source_create(
            name=f"iso-{log_format}", log_format=log_format, team=team_a, actor=None
        )

    return make


@pytest.mark.django_db
@pytest.mark.parametrize(("log_format", "bad", "fate"), ISSUE_CASES)
def test_a_hundred_good_records_and_one_bad(api, source_for, log_format, bad, fate):
    source, token = source_for(log_format)
    lines = [GOOD[log_format](n) for n in range(100)]
    lines.insert(50, bad)
    response = api.generic(
        "POST",
        reverse("api:ingest"),
        "\n".join(lines).encode("utf-8", "surrogatepass"),
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    result = response.json()
    quarantined = fate == QUARANTINED
    assert (result["accepted"], result["quarantined"]) == (100 + (not quarantined), quarantined)
    assert Event.objects.filter(source=source).count() == 100 + (not quarantined)
    replaced = Event.objects.filter(
        source=source, normalized_data__tags__contains=["timestamp_replaced"]
    )
    assert replaced.count() == (fate == TIME_REPLACED)
    if quarantined:
        row = QuarantinedRecord.objects.get(source=source)
        assert row.line_number == 51 and row.reason.strip()
        assert "Error" not in row.reason  # words about the record, not an exception
    if fate == TIME_REPLACED:  # kept, at the time it was received, the claim noted
        assert replaced.get().normalized_data["socapp"]["claimed_timestamp"]


@pytest.mark.django_db
def test_hec_lone_surrogates_nul_and_huge_numbers_are_stored_repaired(api, source_for):
    """Python's JSON decoder (HEC) lets through what PostgreSQL refuses; the events are
    stored with U+FFFD in place of NUL and lone surrogates, big integers as text."""
    source, token = source_for("json")
    body = "\n".join(
        [
            json.dumps({"event": {"message": "before"}}),
            '{"event": {"message": "a\\ud800b\\u0000c", "n": 18446744073709551616,'
            ' "x": NaN, "\\udfff": 1}}',
            json.dumps({"event": {"message": "after"}}),
        ]
    )
    response = api.generic(
        "POST",
        "/services/collector/event",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Splunk {token}",
    )
    assert response.status_code == 200 and response.json()["accepted"] == 3
    stored = Event.objects.get(source=source, normalized_data__n="18446744073709551616")
    assert stored.normalized_data["message"] == "a\ufffdb\ufffdc"
    assert stored.normalized_data["x"] is None and stored.normalized_data["\ufffd"] == 1


def command_refusal(source, path) -> str:
    """The reason ``manage.py ingest`` refuses ``path`` with: a CommandError, or an exit
    status past 1 with the reason on stderr."""
    err = StringIO()
    try:
        call_command("ingest", "--source", source.name, str(path), stdout=StringIO(), stderr=err)
    except CommandError as exc:
        return str(exc)
    except SystemExit as exc:
        assert exc.code not in (0, 1), err.getvalue()
        return err.getvalue()
    raise AssertionError(f"{path} was not refused")


@pytest.mark.django_db
def test_unreadable_files_are_a_400_or_a_command_error(analyst_a, source_for, tmp_path):
    from django.test import Client

    source, _ = source_for("windows")
    client = Client()
    client.force_login(analyst_a)
    for name, data, words in (
        ("random.evtx", bytes(range(256)) * 100, "not a readable EVTX file"),
        ("header-only.evtx", b"ElfFile\x00" + bytes(100), "not a readable EVTX file"),
        ("logs.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "truncated"),
    ):
        response = client.post(
            reverse("events:upload"),
            {"source": source.pk, "file": SimpleUploadedFile(name, data)},
        )
        assert response.status_code == 400 and words in response.content.decode()
        path = tmp_path / name
        path.write_bytes(data)
        assert words in command_refusal(source, path)
    assert not Event.objects.filter(source=source).exists()
    assert not QuarantinedRecord.objects.filter(source=source).exists()


RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_whatever_a_parser_accepts_postgres_stores(source_for):
    """Generated records through the real service, COPY included: no batch fails; every
    record is stored or quarantined; what is counted is what the tables hold."""
    sources = {fmt: source_for(fmt)[0] for fmt in sorted(PARSERS)}

    @settings(
        max_examples=60,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data(), log_format=st.sampled_from(sorted(PARSERS)))
    def ingest(data, log_format):
        records = data.draw(st.lists(record_data(log_format), min_size=1, max_size=5))
        source = sources[log_format]
        result = events_ingest(
            source=source,
            records=[RawRecord(n, r) for n, r in enumerate(records, 1)],
            transport="test",
            received_at=RECEIVED,
        )
        batch = IngestBatch.objects.get(pk=result.batch_id)
        assert Event.objects.filter(batch_id=batch.pk).count() == result.accepted
        assert QuarantinedRecord.objects.filter(batch=batch).count() == result.quarantined
        assert result.accepted + result.duplicates + result.quarantined <= len(records)

    ingest()
