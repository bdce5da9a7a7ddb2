"""The quarantine of a batch is bounded: QUARANTINE_MAX_PER_BATCH records kept whole, the
rest one summary row with exact counts; every good record beside them is stored."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from events.files import CHUNK_RECORDS, file_ingest
from events.models import Event, IngestBatch, QuarantinedRecord, Source
from events.services import source_create
from socapp.models import Team
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

GOOD = b"<13>Nov 28 04:03:59 fw sshd[1]: Failed password for root from 198.51.100.%d port 22 ssh2"
BAD = b"garbage %d without any header"
NOT_SYSLOG = "not a syslog message: no <PRI> and no timestamp"


@pytest.fixture
def syslog_source(reference_data):
    return source_create(
        name="fw-edge", log_format="syslog", team=Team.objects.get(name="SOC"), actor=None
    )


def mixed(lines: int) -> bytes:
    """Good and bad lines taking turns: odd lines good, even lines bad."""
    return b"".join((GOOD % (n % 250) if n % 2 else BAD % n) + b"\n" for n in range(1, lines + 1))


def test_a_file_larger_than_the_cap_keeps_every_good_line_and_counts_every_bad_one(
    syslog_source, settings
):
    settings.QUARANTINE_MAX_PER_BATCH = 100
    source, _ = syslog_source
    lines = 2 * CHUNK_RECORDS + 2000  # three batches: 5,000, 5,000 and 2,000 lines
    report = file_ingest(source=source, name="mixed.log", data=mixed(lines))
    assert report.accepted == lines // 2 == Event.objects.filter(source=source).count()
    assert report.quarantined == lines // 2
    batches = list(IngestBatch.objects.filter(source=source).order_by("received_at"))
    assert [b.quarantined for b in batches] == [2500, 2500, 1000]
    for batch, first in zip(batches, (1, 5001, 10001), strict=True):
        kept = QuarantinedRecord.objects.filter(batch=batch, omitted=0).order_by("line_number")
        assert kept.count() == 100
        # The first hundred bad lines of the batch, whole, with their line numbers.
        assert [r.line_number for r in kept] == list(range(first + 1, first + 201, 2))
        assert bytes(kept[0].raw) == BAD % (first + 1)
        summary = QuarantinedRecord.objects.get(batch=batch, omitted__gt=0)
        assert summary.omitted == batch.quarantined - 100
        assert summary.summary == {
            "reasons": {NOT_SYSLOG: batch.quarantined - 100},
            "first_line": first + 201,
            "last_line": first + 2 * batch.quarantined - 1,
        }
        assert f"{summary.omitted:,} more rejected records" in summary.reason
    source.refresh_from_db()
    assert source.quarantined_count == lines // 2  # exact, not what was kept
    assert QuarantinedRecord.objects.filter(source=source).count() == 3 * 101
    # The same file again stores nothing, kept or summarised.
    again = file_ingest(source=source, name="mixed.log", data=mixed(lines))
    assert again.already_ingested == lines // 2 and again.quarantined == 0
    assert QuarantinedRecord.objects.filter(source=source).count() == 3 * 101


def test_the_api_answer_says_how_many_more(api, syslog_source):
    source, token = syslog_source
    body = b"".join(BAD % n + b"\n" for n in range(1000)) + b"".join(
        GOOD % n + b"\n" for n in range(10)
    )
    response = api.generic(
        "POST",
        reverse("api:ingest"),
        body,
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    result = response.json()
    assert (result["accepted"], result["quarantined"]) == (10, 1000)
    assert len(result["errors"]) == 101
    assert result["errors"][0] == {"line": 1, "reason": NOT_SYSLOG}
    last = result["errors"][-1]
    assert last["line"] is None
    assert last["reason"].startswith("and 900 more; see the quarantine")
    assert "the other 900, lines 101-1,000" in last["reason"]
    assert QuarantinedRecord.objects.filter(source=source).count() == 101


def test_a_flood_of_bad_records_writes_a_bounded_quarantine(api, syslog_source, settings):
    settings.INGEST_MAX_RECORDS = 300_000
    source, token = syslog_source
    body = b"x\n" * 200_000  # what wrote 2.3 million rows before
    response = api.generic(
        "POST",
        reverse("api:ingest"),
        body,
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400  # nothing could be parsed; all of it is counted
    assert response.json()["quarantined"] == 200_000
    assert QuarantinedRecord.objects.filter(source=source).count() == 101
    summary = QuarantinedRecord.objects.get(source=source, omitted__gt=0)
    assert summary.omitted == 199_900
    assert summary.summary["last_line"] == 200_000


def test_reprocessing_skips_summaries_and_does_not_loop(api, syslog_source):
    source, token = syslog_source
    body = b"".join(BAD % n + b"\n" for n in range(250))
    api.generic(
        "POST",
        reverse("api:ingest"),
        body,
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    out = StringIO()
    call_command("reprocess_quarantine", "--source", source.name, stdout=out)
    # The 100 kept records ran again (and failed again, once); the summary stayed.
    assert out.getvalue().strip() == (
        "reprocessed 100: 0 stored, 100 still quarantined; 1 summary row(s) skipped "
        "(records counted, not kept: resend them)"
    )
    assert QuarantinedRecord.objects.filter(reprocessed_at__isnull=True, omitted=0).count() == 100
    assert QuarantinedRecord.objects.filter(omitted=150).count() == 1


def test_the_admin_and_the_api_show_a_summary_for_what_they_are(
    api, syslog_source, soc_admin, auditor
):
    source, token = syslog_source
    body = b"".join(BAD % n + b"\n" for n in range(130))
    api.generic(
        "POST",
        reverse("api:ingest"),
        body,
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    client = Client()
    client.force_login(soc_admin)
    page = client.get(reverse("admin:events_quarantinedrecord_changelist") + "?kind=summary")
    assert page.status_code == 200
    text = page.content.decode()
    assert "(summary of 30 records not kept)" in text
    assert "garbage 129" not in text  # only the summary row is listed
    listed = client_for(auditor).get("/api/v1/quarantine/?page_size=500").json()["results"]
    assert len(listed) == 101
    summaries = [r for r in listed if r["omitted"]]
    assert len(summaries) == 1
    assert summaries[0]["omitted"] == 30
    assert summaries[0]["summary"]["reasons"] == {NOT_SYSLOG: 30}
    assert Source.objects.get(pk=source.pk).quarantined_count == 130
