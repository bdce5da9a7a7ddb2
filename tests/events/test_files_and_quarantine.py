"""Files (command and upload form) and the quarantine."""

from __future__ import annotations

import gzip
import io
import zipfile
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from events.models import Event, QuarantinedRecord, Source
from tests.events.oracle import BEATS, DATA
from tests.factories import SourceFactory

AUTH_LOG = BEATS / "filebeat/module/system/auth/test/test.log"
EVTX = next((DATA / "sigma/regression_data").rglob("*.evtx"))


def ingest(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("ingest", *args, "--no-progress", stdout=out, stderr=StringIO())
        return 0, out.getvalue()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1, out.getvalue()


@pytest.mark.django_db
def test_ingest_command_plain_gzip_zip_and_evtx(tmp_path):
    SourceFactory(name="hosts", format="syslog")
    SourceFactory(name="dc", format="windows")
    lines = AUTH_LOG.read_bytes()
    (tmp_path / "auth.log.gz").write_bytes(gzip.compress(lines))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("logs/auth.log", lines.replace(b"localhost", b"zipped-host"))
    (tmp_path / "logs.zip").write_bytes(buffer.getvalue())
    code, output = ingest(
        "--source", "hosts", str(tmp_path / "auth.log.gz"), str(tmp_path / "logs.zip")
    )
    assert code == 0
    assert "2 file(s)" in output and "0 quarantined" in output
    assert Event.objects.filter(source__name="hosts").count() == 2 * len(lines.splitlines())
    assert Event.objects.filter(normalized_data__host__hostname="zipped-host").exists()
    code, output = ingest("--source", "dc", str(EVTX))
    assert code == 0 and Event.objects.filter(source__name="dc").exists()


@pytest.mark.django_db
def test_the_same_file_twice_stores_nothing_new(tmp_path):
    SourceFactory(name="hosts", format="syslog")
    path = tmp_path / "auth.log"
    path.write_bytes(AUTH_LOG.read_bytes())
    ingest("--source", "hosts", str(path))
    first = Event.objects.count()
    code, output = ingest("--source", "hosts", str(path))
    assert code == 0 and Event.objects.count() == first
    assert "already ingested before" in output
    # The same lines in a *different* file really happened again: new events.
    (tmp_path / "other.log").write_bytes(AUTH_LOG.read_bytes() + b"\n")
    ingest("--source", "hosts", str(tmp_path / "other.log"))
    assert Event.objects.count() == 2 * first


@pytest.mark.django_db
def test_quarantine_makes_the_command_fail_and_says_why(tmp_path):
    SourceFactory(name="hosts", format="syslog")
    path = tmp_path / "mixed.log"
    path.write_bytes(AUTH_LOG.read_bytes() + b"this is not syslog\n")
    code, output = ingest("--source", "hosts", str(path))
    assert code == 1
    assert "1 quarantined" in output and "no <PRI> and no timestamp" in output


@pytest.mark.django_db
def test_ingest_command_refuses_bad_arguments(tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no source"):
        call_command("ingest", "--source", "nope", str(AUTH_LOG))
    SourceFactory(name="hosts", format="syslog")
    with pytest.raises(CommandError, match="not a file"):
        call_command("ingest", "--source", "hosts", str(tmp_path / "missing.log"))


@pytest.mark.django_db
def test_a_source_with_the_wrong_format_is_fixed_and_its_quarantine_reprocessed():
    source = SourceFactory(name="fw", format="syslog")  # but the firewall speaks CEF
    cef = (BEATS / "x-pack/filebeat/module/cef/log/test/cef.log").read_bytes()
    from events.files import file_ingest

    report = file_ingest(source=source, name="cef.log", data=cef)
    assert report.accepted == 0 and report.quarantined == len(cef.strip().splitlines())
    Source.objects.filter(pk=source.pk).update(format="cef")
    out = StringIO()
    call_command("reprocess_quarantine", "--source", "fw", stdout=out)
    assert f"{report.quarantined} stored" in out.getvalue()
    assert (
        Event.objects.filter(source=source, event_type__startswith="cef_").count()
        == report.quarantined
    )
    assert not QuarantinedRecord.objects.filter(reprocessed_at__isnull=True).exists()


@pytest.mark.django_db
def test_upload_page_for_analysts(analyst_a, nobody, team_a):
    source = SourceFactory(name="hosts", format="syslog", team=team_a)
    client = Client()
    client.force_login(nobody)
    assert client.get(reverse("events:upload")).status_code == 403
    client.force_login(analyst_a)
    page = client.get(reverse("events:upload"))
    assert page.status_code == 200 and "Upload logs" in page.content.decode()
    upload = SimpleUploadedFile("auth.log", AUTH_LOG.read_bytes() + b"garbage\n")
    response = client.post(reverse("events:upload"), {"source": source.pk, "file": upload})
    body = response.content.decode()
    assert response.status_code == 200
    assert f'<td id="accepted">{len(AUTH_LOG.read_bytes().splitlines())}</td>' in body
    assert '<td id="quarantined">1</td>' in body
    assert Event.objects.filter(source=source).exists()


@pytest.mark.django_db
def test_upload_escapes_what_the_log_says(analyst_a, team_a):
    source = SourceFactory(name="hosts", format="syslog", team=team_a)
    client = Client()
    client.force_login(analyst_a)
    upload = SimpleUploadedFile("x.log", b"<script>alert(1)</script> not syslog\n")
    body = client.post(
        reverse("events:upload"), {"source": source.pk, "file": upload}
    ).content.decode()
    assert "<script>alert(1)</script>" not in body


@pytest.mark.django_db
def test_the_upload_page_takes_only_sources_of_the_users_teams(analyst_b, team_a, team_b):
    theirs = SourceFactory(name="team-a-hosts", format="syslog", team=team_a)
    ours = SourceFactory(name="team-b-hosts", format="syslog", team=team_b)
    client = Client()
    client.force_login(analyst_b)
    page = client.get(reverse("events:upload")).content.decode()
    assert "team-b-hosts" in page and "team-a-hosts" not in page
    forged = SimpleUploadedFile("auth.log", AUTH_LOG.read_bytes())
    response = client.post(reverse("events:upload"), {"source": theirs.pk, "file": forged})
    assert response.status_code == 400
    assert "cannot be sent into another team&#x27;s source" in response.content.decode()
    assert not Event.objects.filter(source=theirs).exists()
    upload = SimpleUploadedFile("auth.log", AUTH_LOG.read_bytes())
    accepted = client.post(reverse("events:upload"), {"source": ours.pk, "file": upload})
    assert accepted.status_code == 200
    assert Event.objects.filter(source=ours).exists()


@pytest.mark.django_db
def test_managers_and_admins_upload_into_any_teams_source(manager, soc_admin, team_a):
    source = SourceFactory(name="team-a-hosts", format="syslog", team=team_a)
    inactive = SourceFactory(name="retired", format="syslog", team=team_a, is_active=False)
    for person, name in ((manager, "m.log"), (soc_admin, "a.log")):
        client = Client()
        client.force_login(person)
        upload = SimpleUploadedFile(name, AUTH_LOG.read_bytes())
        response = client.post(reverse("events:upload"), {"source": source.pk, "file": upload})
        assert response.status_code == 200, person
        late = SimpleUploadedFile(name, AUTH_LOG.read_bytes())
        refused = client.post(reverse("events:upload"), {"source": inactive.pk, "file": late})
        assert refused.status_code == 400
    assert Event.objects.filter(source=source).exists()
    assert not Event.objects.filter(source=inactive).exists()
