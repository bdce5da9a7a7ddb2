"""The inventory's console pages, and the assets and indicators on alert, incident and
entity pages, for the personas."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from assets.index import inventory_changed
from events.services import events_store
from incidents.models import Alert
from incidents.services import incident_escalate
from intel.models import IocMatch
from tests.factories import AssetFactory, IOCFactory, SourceFactory, event_record
from tests.incidents.conftest import raise_alert

pytestmark = pytest.mark.django_db


def _now() -> datetime:
    """Read when the test runs, not when the module is collected: a long run would leave
    a module-level time behind the pages' windows."""
    return datetime.now(tz=UTC)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def db01(team_a):
    asset = AssetFactory(
        name="db-01",
        ip_addresses=["10.20.0.5"],
        hostnames=["db-01"],
        criticality="critical",
        owner="Dana <dba>",
        team=team_a,
    )
    inventory_changed()
    return asset


def test_the_list_filters_and_shows_only_what_the_analyst_may_see(analyst_a, analyst_b, db01):
    AssetFactory(name="printer-9", criticality="low")
    page = browser(analyst_a).get("/assets/?criticality=critical").content.decode()
    assert "db-01" in page and "printer-9" not in page
    assert "db-01" in browser(analyst_a).get("/assets/?q=10.20.0.5").content.decode()
    assert "db-01" not in browser(analyst_b).get("/assets/").content.decode()
    assert browser(analyst_b).get(f"/assets/{db01.pk}/").status_code == 404


def test_an_assets_page_shows_its_alerts_and_events(analyst_a, team_a, db01):
    events_store(
        source=SourceFactory(team=team_a),
        records=[event_record(_now() - timedelta(minutes=3), dest_ip="10.20.0.5")],
    )
    raise_alert(team_a, "Probe of the database", level="low", destination__ip="10.20.0.5")
    page = browser(analyst_a).get(f"/assets/{db01.pk}/").content.decode()
    assert "Probe of the database" in page and "authentication_failure" in page
    assert "Dana &lt;dba&gt;" in page  # escaped


def test_alert_incident_and_entity_pages_show_the_asset_and_the_raise(analyst_a, team_a, db01):
    alert = raise_alert(team_a, "Probe of the database", level="low", destination__ip="10.20.0.5")
    assert alert.severity.name == "high"  # low + 2 for a critical asset
    page = browser(analyst_a).get(f"/alerts/{alert.pk}/").content.decode()
    assert 'id="severity-raised"' in page and "db-01 is a critical asset" in page
    assert "Dana &lt;dba&gt;" in page and "Team A" in page
    incident = incident_escalate(alert=alert, actor=analyst_a)
    page = browser(analyst_a).get(f"/incidents/{incident.number}/").content.decode()
    assert f"/assets/{db01.pk}/" in page and "Critical" in page
    page = browser(analyst_a).get("/entities/ip/10.20.0.5/").content.decode()
    assert f"/assets/{db01.pk}/" in page and "Dana &lt;dba&gt;" in page


def test_an_alerts_asset_reads_as_its_name_not_its_id(analyst_a, team_a, db01):
    alert = raise_alert(team_a, "Probe of the database", level="low", destination__ip="10.20.0.5")
    assert f"asset:{db01.pk}" in alert.entities
    incident = incident_escalate(alert=alert, actor=analyst_a)
    pages = ("/alerts/", f"/alerts/{alert.pk}/", f"/alerts/{alert.pk}/preview/")
    for path in (*pages, f"/incidents/{incident.number}/"):
        page = browser(analyst_a).get(path).content.decode()
        assert "asset db-01" in page, path
        assert f"asset:{db01.pk}" not in page.replace(f"/assets/{db01.pk}/", ""), path


def test_the_alert_page_lists_the_indicators_its_events_matched(analyst_a, team_a, db01):
    at = _now() - timedelta(minutes=2)
    event_ids = events_store(
        source=SourceFactory(team=team_a),
        records=[event_record(at, source_ip="198.51.100.66")],
    )
    page = browser(analyst_a).get("/entities/ip/198.51.100.66/").content.decode()
    assert "No indicator matched" in page
    ioc = IOCFactory(value="198.51.100.66")
    IocMatch.objects.create(ioc=ioc, event_id=event_ids[0], event_time=at, field="source.ip")
    page = browser(analyst_a).get("/entities/ip/198.51.100.66/").content.decode()
    assert "<code>198.51.100.66</code>" in page and "<code>source.ip</code>" in page


def test_writing_pages_are_for_writers(analyst_a, manager, reference_data):
    assert browser(analyst_a).get("/assets/new/").status_code == 403
    assert browser(analyst_a).get("/assets/import/").status_code == 403
    from tests.factories import AssetTypeFactory

    AssetTypeFactory(name="server")
    upload = io.BytesIO(b"name,type,criticality\nweb-9,server,high\nweb-9,server,high\n")
    upload.name = "inv.csv"
    page = browser(manager).post("/assets/import/", {"file": upload}).content.decode()
    assert "Created 1" in page and "repeats an earlier line" in page
    assert Alert.objects.count() == 0
