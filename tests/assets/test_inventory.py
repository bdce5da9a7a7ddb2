"""The inventory through its API and services: canonical identities, the type's JSON
Schema, who reads and who writes, the audit log, and the CSV import with its bounds."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from assets import importing
from assets.models import Asset
from socapp.models import AuditEntry
from tests.conftest import client_for
from tests.factories import AssetFactory, AssetTypeFactory

URL = "/api/v1/assets/"
IMPORT = "/api/v1/assets/import/"


@pytest.fixture
def server(reference_data):
    return AssetTypeFactory(
        name="server",
        attributes_schema={
            "type": "object",
            "properties": {"rack": {"type": "string"}, "u": {"type": "integer"}},
            "additionalProperties": False,
        },
    )


def test_a_manager_creates_an_asset_made_canonical_and_audited(manager, team_a, server):
    made = client_for(manager).post(
        URL,
        {
            "name": "DB-01",
            "asset_type": "server",
            "ip_addresses": ["10.1.0.5", "::ffff:10.1.0.6", "10.1.0.5"],
            "mac_addresses": ["AA-BB-CC-DD-EE-FF"],
            "hostnames": ["DB-01.Corp.Example."],
            "criticality": "critical",
            "owner": "Ops",
            "team": "Team A",
            "tags": ["PCI"],
            "attributes": {"rack": "r1", "u": 4},
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["ip_addresses"] == ["10.1.0.5", "10.1.0.6"]
    assert body["mac_addresses"] == ["aa:bb:cc:dd:ee:ff"]
    assert body["hostnames"] == ["db-01.corp.example"] and body["tags"] == ["pci"]
    entry = AuditEntry.objects.get(action="asset.create")
    assert entry.actor == manager and entry.changes["criticality"] == [None, "critical"]


def test_attributes_must_satisfy_the_types_schema_and_identities_must_parse(manager, server):
    api = client_for(manager)
    bad = api.post(
        URL, {"name": "x", "asset_type": "server", "attributes": {"u": "four"}}, format="json"
    )
    assert bad.status_code == 400 and "u: 'four' is not of type 'integer'" in str(bad.json())
    for field, value in (
        ("ip_addresses", ["10.0.0.999"]),
        ("mac_addresses", ["zz:zz"]),
        ("hostnames", ["bad host"]),
        ("criticality", "extreme"),
    ):
        refused = api.post(URL, {"name": "y", "asset_type": "server", field: value}, format="json")
        assert refused.status_code == 400 and field in refused.json(), (field, refused.content)
    assert not Asset.objects.exists()


def test_bounds_on_lists_and_names_are_a_400(manager, server):
    api = client_for(manager)
    many = [f"10.2.{n // 250}.{n % 250}" for n in range(33)]
    response = api.post(
        URL, {"name": "big", "asset_type": "server", "ip_addresses": many}, format="json"
    )
    assert response.status_code == 400 and "ip_addresses" in response.json()
    long_host = ["a" * 254]
    response = api.post(
        URL, {"name": "big", "asset_type": "server", "hostnames": long_host}, format="json"
    )
    assert response.status_code == 400
    api.post(URL, {"name": "Twin", "asset_type": "server"}, format="json")
    again = api.post(URL, {"name": "twin", "asset_type": "server"}, format="json")
    assert again.status_code == 400 and "name" in again.json()


def test_analysts_read_their_teams_assets_and_write_none(analyst_a, analyst_b, team_a, server):
    ours = AssetFactory(name="ours", team=team_a, asset_type=server)
    shared = AssetFactory(name="shared", team=None, asset_type=server)
    names_a = {a["name"] for a in client_for(analyst_a).get(URL).json()["results"]}
    names_b = {a["name"] for a in client_for(analyst_b).get(URL).json()["results"]}
    assert names_a == {"ours", "shared"} and names_b == {"shared"}
    assert client_for(analyst_b).get(f"{URL}{ours.pk}/").status_code == 404
    refused = client_for(analyst_a).patch(
        f"{URL}{shared.pk}/", {"criticality": "low"}, format="json"
    )
    assert refused.status_code == 403


def test_an_integration_writes_only_its_teams_assets_and_managers_any(
    integration, manager, team_a, team_b, server
):
    ours = AssetFactory(name="ours", team=team_a, asset_type=server, criticality="low")
    theirs = AssetFactory(name="theirs", team=team_b, asset_type=server, criticality="low")
    api = client_for(integration)
    # reading every team's inventory is what a CMDB sync needs; writing is for its teams
    assert api.get(f"{URL}{theirs.pk}/").status_code == 200
    refused = [
        api.patch(f"{URL}{theirs.pk}/", {"criticality": "critical"}, format="json"),
        api.patch(f"{URL}{ours.pk}/", {"team": "Team B"}, format="json"),
        api.delete(f"{URL}{theirs.pk}/"),
        api.post(URL, {"name": "planted", "asset_type": "server", "team": "Team B"}, format="json"),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert "your own teams" in refused[0].json()["detail"]
    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert (theirs.criticality, ours.team) == ("low", team_a)
    assert not Asset.objects.filter(name="planted").exists()
    assert not AuditEntry.objects.filter(action__in=["asset.update", "asset.delete"]).exists()
    # its own team's asset, and one of no team, it changes
    assert api.patch(f"{URL}{ours.pk}/", {"criticality": "high"}, format="json").status_code == 200
    made = api.post(URL, {"name": "shared", "asset_type": "server"}, format="json")
    assert made.status_code == 201, made.content
    # the CSV import skips another team's rows with the reason, and stores the rest
    csv = (
        "name,type,team,criticality\ntheirs,server,,critical\nfresh,server,Team B,\nnew,server,,\n"
    )
    body = api.post(IMPORT, csv, content_type="text/csv").json()
    assert (body["created"], body["updated"], body["skipped"]) == (1, 0, 2)
    assert all("Team B" in r["reason"] for r in body["reasons"])
    # a manager keeps the whole inventory
    moved = client_for(manager).patch(f"{URL}{theirs.pk}/", {"team": "Team A"}, format="json")
    assert moved.status_code == 200


def test_an_update_that_changes_nothing_writes_no_audit_entry(manager, server):
    asset = AssetFactory(name="same", asset_type=server, criticality="high")
    api = client_for(manager)
    api.patch(f"{URL}{asset.pk}/", {"criticality": "high"}, format="json")
    assert not AuditEntry.objects.filter(action="asset.update").exists()
    api.patch(f"{URL}{asset.pk}/", {"criticality": "low"}, format="json")
    assert AuditEntry.objects.get(action="asset.update").changes == {"criticality": ["high", "low"]}


CSV = (
    "name,type,ip_addresses,hostnames,os,owner,team,criticality,tags,attributes\n"
    'web-1,server,10.3.0.1;10.3.0.2,web-1,Debian,ops,Team A,high,dmz,"{""rack"": ""r2""}"\n'
    "web-2,server,10.3.0.3,,,,,,,\n"
    "bad-ip,server,999.1.1.1,,,,,,,\n"
    "no-type,printer,,,,,,,,\n"
    "web-1,server,,,,,,,,\n"
)


def test_csv_import_answers_counts_and_line_numbered_reasons(integration, server):
    api = client_for(integration)
    first = api.post(IMPORT, CSV, content_type="text/csv")
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["created"], body["updated"], body["unchanged"], body["skipped"]) == (2, 0, 0, 3)
    reasons = {r["line"]: r["reason"] for r in body["reasons"]}
    assert "999.1.1.1" in reasons[4] and "printer" in reasons[5] and "repeats" in reasons[6]
    web = Asset.objects.get(name="web-1")
    assert web.ip_addresses == ["10.3.0.1", "10.3.0.2"] and web.attributes == {"rack": "r2"}
    assert web.team.name == "Team A" and web.criticality == "high"
    second = api.post(
        IMPORT,
        {"file": io.BytesIO(b"name,type,criticality\nweb-1,server,critical\nweb-2,server,\n")},
        format="multipart",
    ).json()
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 1, 1)
    assert AuditEntry.objects.filter(action="asset.import").count() == 2


def test_csv_import_refuses_too_many_rows_or_bytes_with_a_400_and_stores_nothing(
    integration, server, monkeypatch
):
    monkeypatch.setattr(importing, "MAX_ROWS", 50)
    rows = "".join(f"h{n},server\n" for n in range(51))
    response = client_for(integration).post(IMPORT, "name,type\n" + rows, content_type="text/csv")
    assert response.status_code == 400 and "More than 50 rows" in str(response.json())
    monkeypatch.setattr(importing, "MAX_BYTES", 1000)
    monkeypatch.setattr("assets.api.views.MAX_BYTES", 1000)
    big = "name,type\n" + "x" * 2000
    response = client_for(integration).post(IMPORT, big, content_type="text/csv")
    assert response.status_code == 400 and "larger than" in str(response.json())
    assert not Asset.objects.exists()


def test_csv_import_is_one_transaction_that_a_bad_header_refuses(integration, server):
    response = client_for(integration).post(
        IMPORT, "name,type,colour\nweb,server,red\n", content_type="text/csv"
    )
    assert response.status_code == 400 and "colour" in str(response.json())
    refused = client_for(integration).post(IMPORT, "\x00\xff", content_type="text/csv")
    assert refused.status_code == 400


def test_analysts_may_not_import(analyst_a, server):
    response = client_for(analyst_a).post(IMPORT, "name,type\nx,server\n", content_type="text/csv")
    assert response.status_code == 403 and not Asset.objects.exists()


def test_the_management_command_imports_a_file(server, tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("name,type,hostnames\nfile-1,server,FILE-1\n")
    out = io.StringIO()
    call_command("assets_import", str(path), stdout=out)
    assert '"created": 1' in out.getvalue()
    assert Asset.objects.get(name="file-1").hostnames == ["file-1"]
