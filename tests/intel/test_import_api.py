"""POST /api/v1/intel/import/ by persona, as a body and as a form; the command line."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from intel.models import IOC, ThreatIntel
from socapp.models import AuditEntry
from tests.conftest import client_for
from tests.factories import ThreatIntelFactory

from .stix_fixtures import bundle, indicator

pytestmark = pytest.mark.django_db
URL = "/api/v1/intel/import/"


def post_body(user, data: bytes, query: str, content_type="application/json"):
    return client_for(user).post(f"{URL}?{query}", data, content_type=content_type)


def test_a_manager_imports_a_stix_bundle_into_an_existing_feed(manager):
    ThreatIntelFactory(source_name="partners")
    data = bundle(indicator("[domain-name:value = 'api.example.net']"))
    response = post_body(manager, data, "format=stix&feed=partners")
    assert response.status_code == 200, response.content
    assert response.json() | {"skips": []} == {
        "feed": "partners", "format": "stix", "created": 1, "updated": 0, "unchanged": 0,
        "skipped": 0, "skips": [],
    }  # fmt: skip
    assert IOC.objects.get().intel.source_name == "partners"
    entry = AuditEntry.objects.filter(action="intel.import").get()
    assert entry.actor_name == "manager" and entry.changes["created"] == 1


def test_only_admins_create_a_feed_by_importing_into_it(manager, soc_admin):
    data = b"new.example.net\n"
    refused = post_body(manager, data, "format=list&feed=brand-new", "text/plain")
    assert refused.status_code == 403 and "only admins add feeds" in refused.json()["detail"]
    created = post_body(soc_admin, data, "format=list&feed=brand-new", "text/plain")
    assert created.status_code == 200 and created.json()["created"] == 1
    assert ThreatIntel.objects.filter(source_name="brand-new").exists()


@pytest.mark.parametrize("persona", ["analyst_a", "auditor", "nobody"])
def test_who_may_not_import(request, persona):
    user = request.getfixturevalue(persona)
    response = post_body(user, b"x.example.net\n", "format=list", "text/plain")
    assert response.status_code == 403
    assert not IOC.objects.exists()


def test_an_integration_uploads_a_csv_as_a_form(integration):
    ThreatIntelFactory(source_name="imports")
    csv = b"indicator,kind,score\n45.9.148.20,ip,90\nbad.example.net,domain,40\n,domain,1\n"
    response = client_for(integration).post(
        URL,
        {
            "file": SimpleUploadedFile("feed.csv", csv, "text/csv"),
            "format": "csv",
            "mapping": "value=indicator,type=kind,confidence=score",
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["skipped"]) == (2, 1)
    assert body["skips"] == [{"where": "line 4", "value": "", "reason": "no value"}]
    assert IOC.objects.get(value="45.9.148.20").confidence_score == 0.9


@pytest.mark.parametrize(
    ("query", "data", "status", "says"),
    [
        ("", b"a.example.net", 400, "Give format"),
        ("format=stix", b"{", 400, "not valid JSON"),
        ("format=csv&mapping=nope", b"a\n", 400, "field=column"),
        ("format=misp_feed", b"PK\x03\x04broken", 400, "zip"),
    ],
)
def test_bad_requests_say_what_is_wrong(soc_admin, query, data, status, says):
    response = post_body(soc_admin, data, query, "application/octet-stream")
    assert response.status_code == status and says in response.json()["detail"]


def test_an_oversized_body_is_413(soc_admin, settings):
    settings.INTEL_IMPORT_MAX_BYTES = 100
    response = post_body(soc_admin, b"a.example.net\n" * 20, "format=list", "text/plain")
    assert response.status_code == 413


def test_the_command_imports_a_file(tmp_path, capsys):
    path = tmp_path / "bundle.json"
    path.write_bytes(bundle(indicator("[url:value = 'https://cmd.example.net/x']")))
    call_command("intel_import", str(path), "--feed", "from-cli")
    result = json.loads(capsys.readouterr().out)
    assert result["format"] == "stix" and result["created"] == 1
    assert IOC.objects.get().value == "https://cmd.example.net/x"


def test_the_command_refuses_a_malformed_file_with_status_2(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(b"value\n\xff\n")
    with pytest.raises(SystemExit) as exited:
        call_command("intel_import", str(path))
    assert exited.value.code == 2 and not IOC.objects.exists()


def test_an_import_tells_the_matchers_and_hunts_for_what_arrived(
    manager, django_capture_on_commit_callbacks
):
    from intel.indicator_set import current_version
    from intel.models import RetroHunt

    ThreatIntelFactory(source_name="imports")
    before = current_version()
    data = b"45.9.148.20\nbad.example.net\n"
    with django_capture_on_commit_callbacks(execute=True):
        first = post_body(manager, data, "format=list&feed=imports", "text/plain")
    assert first.json()["created"] == 2
    assert current_version() != before  # every ingest process rebuilds its index
    hunt = RetroHunt.objects.get()
    assert hunt.indicator_count == 2 and hunt.requested_by == manager
    # the same file again brings nothing new: no second hunt
    again = post_body(manager, data, "format=list&feed=imports", "text/plain")
    assert again.json()["unchanged"] == 2 and RetroHunt.objects.count() == 1
