"""An alert says what its rule could not check on the event behind it: Security 4688 of
older Windows records no parent process, so a rule's parent-based exclusions cannot
apply and the rule may be noisier there (issue 13). The analyst reads it on the alert."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from correlation.services import batch_correlate, rule_save
from events.ingest import events_ingest
from events.parsers import RawRecord
from incidents.models import Alert
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db

RULE = """title: Shell started outside Explorer
name: shell_not_from_explorer
logsource: {product: windows, category: process_creation}
level: medium
detection:
  selection:
    Image|endswith: '\\\\cmd.exe'
  filter:
    ParentImage|endswith: '\\\\explorer.exe'
  condition: selection and not filter
"""


def process_creation(record_id: int, parent: str | None) -> str:
    data = {
        "SubjectUserName": "alice",
        "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
        "CommandLine": "cmd.exe /c whoami",
    }
    if parent is not None:  # Windows 10 and later record the creator's image
        data["ParentProcessName"] = parent
    return json.dumps(
        {
            "@timestamp": "2026-11-28T08:00:00.000Z",
            "winlog": {
                "channel": "Security",
                "event_id": 4688,
                "computer_name": "ws-07",
                "provider_name": "Microsoft-Windows-Security-Auditing",
                "record_id": record_id,
                "event_data": data,
            },
        }
    )


def test_a_parent_based_rule_says_so_when_the_event_has_no_parent(reference_data, analyst_a):
    rule = rule_save(actor=None, definition=RULE)
    source = SourceFactory(format="windows", team=analyst_a.teams.first())
    lines = [
        process_creation(1, None),  # an older Windows: no ParentProcessName at all
        process_creation(2, "C:\\Windows\\System32\\services.exe"),
        process_creation(3, "C:\\Windows\\explorer.exe"),  # excluded by the rule
    ]
    result = events_ingest(
        source=source,
        records=[RawRecord(n, line) for n, line in enumerate(lines, 1)],
        transport="api",
    )
    assert result.accepted == 3
    batch_correlate(batch_id=result.batch_id)
    alerts = sorted(Alert.objects.filter(rule=rule), key=lambda a: "caveats" in a.details)
    assert len(alerts) == 2  # the explorer-started shell is excluded, as written
    known, unknown = alerts
    assert "caveats" not in known.details
    assert unknown.details["caveats"][0].startswith("parent process unknown")

    browser = Client()
    browser.force_login(analyst_a)
    page = browser.get(f"/alerts/{unknown.pk}/")
    assert page.status_code == 200
    assert b"Parent process unknown: the event does not record its parent" in page.content
    assert b"Parent process unknown" not in browser.get(f"/alerts/{known.pk}/").content
