"""The malformed-input corpus (tests/events/corpus/cases.py) through every transport:
REST ingest, HEC event and raw, the upload page, ``manage.py ingest``, and the syslog
listener's framing.

For every case, each sent with good records beside it:
- no 5xx and no crash (an exception out of a view or command is counted, not raised);
- a request that cannot be read at all is a 4xx (a command error) with a message, and
  stores nothing;
- otherwise every good record is stored (found in the database by its marker), every
  case that must be quarantined is (exactly, with nothing else stored), and the work is
  bounded: events plus quarantine rows never exceed the records sent;
- in the database, per group of cases: events = the sum of what was accepted, quarantine
  rows = the sum of what was quarantined, every reason non-empty, in words (none from the
  safety net), one line, at most 500 characters.

Cases run in groups (one test per transport and format) so database round trips stay
few; each test's transaction is rolled back (the syslog test commits, like the listener).
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client
from django.urls import reverse

from events.models import Event, IngestBatch, QuarantinedRecord, Source
from events.services import source_create
from tests.events.corpus.cases import CASES, FORMATS, SYSLOG_FORMATS, Case

GROUPS: dict[tuple[str, str], list[Case]] = defaultdict(list)
for _case in CASES:
    GROUPS[(_case.transport, _case.log_format)].append(_case)
SAFETY_NET = re.compile(r"\((?:[A-Z]\w*(?:Error|Exception|Exit)|StopIteration)\b")
MARKER = re.compile(r"good-\d{5}-[12]")


def test_the_corpus_is_large_and_covers_every_format_and_transport() -> None:
    assert len(CASES) >= 1000
    assert {c.log_format for c in CASES} == set(FORMATS)
    assert {c.transport for c in CASES} == {
        "rest", "hec_event", "hec_raw", "upload", "command", "syslog",
    }  # fmt: skip
    assert len({c.id for c in CASES}) == len(CASES)


@dataclass
class Outcome:
    status: int  # HTTP status; 0 for a command that finished, 1 for one that refused
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    message: str = ""

    @property
    def all_rejected(self) -> bool:
        return self.accepted + self.duplicates == 0 < self.quarantined

    @property
    def nothing_parsed(self) -> bool:
        """HTTP's answer to a body of which no record could be parsed: a 400 with the
        counts (the records quarantined all the same)."""
        return self.status == 400 and self.all_rejected


HTTP_TRANSPORTS = {"rest", "hec_event", "hec_raw"}


@dataclass
class Tally:
    problems: list[str] = field(default_factory=list)
    accepted: int = 0
    quarantined: int = 0
    goods: set[str] = field(default_factory=set)
    cases: int = 0

    def judge(self, case: Case, outcome: Outcome | Exception) -> None:
        self.cases += 1
        if isinstance(outcome, Exception):
            self.problems.append(f"{case.id}: crashed with {type(outcome).__name__}: {outcome}")
            return
        if outcome.status >= 500:
            self.problems.append(f"{case.id}: answered {outcome.status}")
            return
        if case.refused:
            if not (400 <= outcome.status < 500 or outcome.status == 1):
                self.problems.append(f"{case.id}: accepted a request it should refuse")
            elif not outcome.message.strip():
                self.problems.append(f"{case.id}: refused without saying why")
            rows = outcome.accepted + outcome.duplicates + outcome.quarantined
            if rows and not case.partial:
                self.problems.append(f"{case.id}: refused, yet stored something")
            elif rows > case.max_rows:
                self.problems.append(f"{case.id}: {rows} rows for at most {case.max_rows}")
            self.accepted += outcome.accepted  # what a truncated file had before the cut
            self.quarantined += outcome.quarantined
            return
        if outcome.status not in (0, 200) and not outcome.nothing_parsed:
            self.problems.append(f"{case.id}: refused ({outcome.status}: {outcome.message})")
            return
        if case.transport in HTTP_TRANSPORTS and outcome.status == 200 and outcome.all_rejected:
            self.problems.append(f"{case.id}: 200 for a body of which nothing could be parsed")
        self.accepted += outcome.accepted
        self.quarantined += outcome.quarantined
        self.goods.update(case.goods)
        rows = outcome.accepted + outcome.duplicates + outcome.quarantined
        if outcome.accepted < len(case.goods):
            self.problems.append(f"{case.id}: {outcome.accepted} stored of {len(case.goods)} good")
        if rows > case.max_rows:
            self.problems.append(f"{case.id}: {rows} rows for at most {case.max_rows} records")
        if outcome.quarantined < case.quarantined:
            self.problems.append(f"{case.id}: {outcome.quarantined} quarantined, expected more")
        if case.exact and (
            outcome.quarantined != case.quarantined
            or outcome.accepted != len(case.goods)
            or outcome.duplicates
        ):
            self.problems.append(f"{case.id}: {outcome} (expected exactly the goods stored)")

    def verify_database(self, source: Source) -> None:
        """What the answers said is what the database holds."""
        raws = Event.objects.filter(source=source).values_list("raw_data", flat=True)
        stored_goods = {m for raw in raws for m in MARKER.findall(raw)}
        missing = self.goods - stored_goods
        assert not missing, f"good records lost: {sorted(missing)[:10]}"
        assert Event.objects.filter(source=source).count() == self.accepted
        reasons = list(
            QuarantinedRecord.objects.filter(source=source).values_list("reason", flat=True)
        )
        assert len(reasons) == self.quarantined
        for reason in reasons:
            assert reason.strip() and reason.isprintable() and len(reason) <= 500, reason
            assert not SAFETY_NET.search(reason), reason
        assert not self.problems, "\n".join(self.problems[:40])


# ---- the transports ------------------------------------------------------------------------


def _json_or_text(response: Any) -> dict[str, Any]:
    try:
        return response.json()
    except ValueError:
        return {"detail": response.content.decode(errors="replace")}


def send_rest(api: Any, token: str, case: Case) -> Outcome:
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in case.headers}
    response = api.generic(
        "POST",
        reverse("api:ingest"),
        case.body,
        content_type=case.content_type or "text/plain",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **headers,
    )
    body = _json_or_text(response)
    if "quarantined" not in body:
        return Outcome(response.status_code, message=str(body.get("detail", "")))
    counts = body["accepted"], body["duplicates"], body["quarantined"]
    return Outcome(response.status_code, *counts, message=body.get("detail", ""))


def send_hec(api: Any, token: str, case: Case) -> Outcome:
    path = "/services/collector/raw" if case.transport == "hec_raw" else "/services/collector/event"
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in case.headers}
    response = api.generic(
        "POST",
        path,
        case.body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Splunk {token}",
        **headers,
    )
    body = _json_or_text(response)
    if "quarantined" not in body:
        return Outcome(response.status_code, message=str(body.get("text", body.get("detail"))))
    counts = body["accepted"], 0, body["quarantined"]
    return Outcome(response.status_code, *counts, message=body.get("detail", ""))


_CELL = re.compile(r"<th>(Accepted|Duplicates|Quarantined)</th><td[^>]*>(\d+)</td>")
_FORM_ERROR = re.compile(r'<p class="error" role="alert">([^<]+)</p>')
# A file that could not be read (whole) is listed among the report's problems.
_PROBLEM = re.compile(r'<li class="error">([^<]+)</li>')


def send_upload(client: Client, source: Source, case: Case) -> Outcome:
    upload = SimpleUploadedFile(case.file_name, case.body)
    response = client.post(reverse("events:upload"), {"source": source.pk, "file": upload})
    page = response.content.decode()
    if response.status_code != 200:
        errors = _FORM_ERROR.findall(page) + _PROBLEM.findall(page)
        cells = dict(_CELL.findall(page))
        return Outcome(
            response.status_code,
            int(cells.get("Accepted", 0)),
            int(cells.get("Duplicates", 0)),
            int(cells.get("Quarantined", 0)),
            message=" ".join(errors),
        )
    cells = dict(_CELL.findall(page))
    return Outcome(200, int(cells["Accepted"]), int(cells["Duplicates"]), int(cells["Quarantined"]))


_SUMMARY = re.compile(r"([\d,]+) accepted, ([\d,]+) duplicates, ([\d,]+) quarantined")


def send_command(tmp_path: Any, source: Source, case: Case) -> Outcome:
    """The command's answer: its summary line; a refusal is a CommandError, or an exit
    status past 1 with the reason on stderr (after the summary of what was stored)."""
    path = tmp_path / f"{abs(hash(case.id))}-{case.file_name}"
    path.write_bytes(case.body)
    out, err = StringIO(), StringIO()
    status = 0
    try:
        call_command(
            "ingest", "--source", source.name, str(path), "--no-progress", stdout=out, stderr=err
        )
    except CommandError as exc:
        return Outcome(1, message=str(exc))
    except SystemExit as exc:  # 1 when anything was quarantined, more when refused
        status = 1 if exc.code not in (0, 1) else 0
    found = _SUMMARY.search(out.getvalue())
    counts = [int(n.replace(",", "")) for n in found.groups()] if found else [0, 0, 0]
    if status == 0 and not found:
        raise AssertionError(f"no summary: {out.getvalue()}")
    accepted, duplicates, quarantined = counts
    return Outcome(status, accepted, duplicates, quarantined, message=err.getvalue())


def run(cases: list[Case], send: Callable[[Case], Outcome], source: Source) -> None:
    tally = Tally()
    for case in cases:
        try:
            outcome: Outcome | Exception = send(case)
        except Exception as exc:  # a crash is a finding; the corpus goes on
            outcome = exc
        tally.judge(case, outcome)
    tally.verify_database(source)


# ---- the tests -----------------------------------------------------------------------------


@pytest.fixture
def source_for(team_a):
    def make(log_format: str) -> tuple[Source, str]:
        return source_create(
            name=f"corpus-{log_format}", log_format=log_format, team=team_a, actor=None
        )

    return make


@pytest.mark.django_db
@pytest.mark.parametrize("log_format", FORMATS)
@pytest.mark.parametrize("transport", ["rest", "hec_event", "hec_raw"])
def test_http_ingest_corpus(api, source_for, transport, log_format):
    source, token = source_for(log_format)
    send = send_rest if transport == "rest" else send_hec
    run(GROUPS[(transport, log_format)], lambda case: send(api, token, case), source)


@pytest.mark.django_db
@pytest.mark.parametrize("log_format", FORMATS)
def test_upload_page_corpus(analyst_a, source_for, log_format):
    source, _ = source_for(log_format)
    client = Client(raise_request_exception=True)
    client.force_login(analyst_a)
    run(GROUPS[("upload", log_format)], lambda case: send_upload(client, source, case), source)


@pytest.mark.django_db
@pytest.mark.parametrize("log_format", FORMATS)
def test_ingest_command_corpus(tmp_path, source_for, log_format):
    source, _ = source_for(log_format)
    run(GROUPS[("command", log_format)], lambda case: send_command(tmp_path, source, case), source)


@pytest.fixture
def kept_connections():
    """DB_CONN_MAX_AGE as a deployment sets it: the listener's worker thread keeps its
    database connection between batches instead of opening one per batch."""
    database = connections.settings["default"]
    before = database["CONN_MAX_AGE"]
    database["CONN_MAX_AGE"] = 600
    yield
    database["CONN_MAX_AGE"] = before


@pytest.mark.django_db(transaction=True)
def test_syslog_listener_corpus(source_for, kept_connections):
    """The listener as it runs: each case's bytes arrive on one TCP connection (framing,
    routing by sender address, buffering) and are flushed into a batch by its worker
    thread; the batch's counts are the case's answer."""
    from events.syslogd.server import Listener, ListenerConfig, StreamProtocol

    senders = {}
    sources = {}
    for number, log_format in enumerate(SYSLOG_FORMATS, 1):
        source, _ = source_for(log_format)
        address = f"192.0.2.{number}"
        Source.objects.filter(pk=source.pk).update(senders=[address])
        senders[log_format], sources[log_format] = address, source
    listener = Listener(ListenerConfig(unknown_senders="refuse", batch_size=100_000))
    listener._load_routes()
    loop = asyncio.new_event_loop()
    try:
        for log_format in SYSLOG_FORMATS:
            source = sources[log_format]

            def send(
                case: Case, source: Source = source, peer: str = senders[log_format]
            ) -> Outcome:
                connection = StreamProtocol(listener, "tcp")
                connection.peer = peer
                connection.data_received(case.body)
                connection.connection_lost(None)
                before = IngestBatch.objects.filter(source=source).count()
                loop.run_until_complete(listener.flush(everything=True))
                assert not listener.buffered and listener.stats["ingest_failures"] == 0
                batches = IngestBatch.objects.filter(source=source).order_by("-received_at")
                if batches.count() == before:
                    return Outcome(0)
                batch = batches[0]
                return Outcome(0, batch.accepted, batch.duplicates, batch.quarantined)

            run(GROUPS[("syslog", log_format)], send, source)
    finally:
        loop.close()
        listener.executor.submit(connections.close_all).result()
        listener.executor.shutdown(wait=True)
