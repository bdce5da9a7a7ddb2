"""Rules read geolocation (docs/DETECTION.md): a Sigma rule on
``source.geo.country_iso_code`` fires through the real engine on events enriched at
ingest, and not on the same events from elsewhere or stored without a database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from correlation.services import batch_correlate, rule_save
from events.ingest import events_ingest
from events.parsers import RawRecord
from incidents.models import Alert
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db

RULE = """title: SSH login failure from Russia
name: ssh_failure_from_ru
logsource: {product: linux, service: sshd}
level: high
detection:
  selection:
    event.action: ssh_login
    event.outcome: failure
    source.geo.country_iso_code: RU
  condition: selection
"""


def sshd_failures(*addresses: str) -> str:
    when = (timezone.now() - timedelta(minutes=30)).strftime("%b %d %H:%M:%S")
    source = SourceFactory.create(format="syslog")
    lines = [
        f"<38>{when} bastion sshd[{n}]: Failed password for root from {ip} port 22 ssh2"
        for n, ip in enumerate(addresses, 1)
    ]
    result = events_ingest(
        source=source,
        records=[RawRecord(n, line) for n, line in enumerate(lines, 1)],
        transport="api",
    )
    assert result.accepted == len(addresses)
    batch_correlate(batch_id=result.batch_id)
    return result.batch_id


def test_a_rule_on_the_source_country_fires_on_enriched_events(reference_data, geo_database):
    rule = rule_save(actor=None, definition=RULE)
    sshd_failures("5.45.200.1", "81.2.69.160", "10.0.0.7")
    alerts = list(Alert.objects.filter(rule=rule))
    assert len(alerts) == 1
    assert "ip:5.45.200.1" in alerts[0].entities


def test_without_a_database_the_rule_has_nothing_to_match(reference_data, settings):
    settings.GEOIP_DATABASE = ""
    rule = rule_save(actor=None, definition=RULE)
    sshd_failures("5.45.200.1")
    assert not Alert.objects.filter(rule=rule).exists()
