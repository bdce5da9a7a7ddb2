"""Every sample of ../shared/data goes through the real ingest path (file reader, parser,
normalization, COPY into PostgreSQL) with zero unexpected quarantines, and lands where an
analyst looks for it."""

from __future__ import annotations

import re

import pytest

from events.files import file_ingest
from events.models import Event, QuarantinedRecord
from tests.events.oracle import BEATS, DATA
from tests.factories import SourceFactory

WAZUH = DATA / "wazuh-ruleset-tests/tools/rules-testing/tests"


def wazuh_lines(*names: str) -> bytes:
    lines = []
    for name in names:
        text = (WAZUH / f"{name}.ini").read_text()
        lines += [
            line.split("=", 1)[1].strip()
            for line in text.splitlines()
            if line.startswith("log ") and " = " in line
        ]
    return ("\n".join(lines) + "\n").encode()


SAMPLES = {
    "syslog": [
        *(BEATS / "filebeat/module/system").rglob("*.log"),
        *(BEATS / "x-pack/filebeat/module/iptables/log/test").glob("*.log"),
        *(BEATS / "filebeat/module/auditd/log/test").glob("*.log"),
        DATA / "wazuh-ruleset-tests/rules/log-entries/sshd",
    ],
    "cef": [
        *(BEATS / "x-pack/filebeat/module/cef/log/test").glob("*.log"),
        BEATS / "x-pack/filebeat/processors/decode_cef/testdata/samples.log",
    ],
    "suricata": [
        *(BEATS / "x-pack/filebeat/module/suricata/eve/test").glob("*.log"),
        *(DATA / "suricata/samples").glob("*/alerts-only.json"),
    ],
    "zeek": [
        *(BEATS / "x-pack/filebeat/module/zeek").glob("*/test/*.log"),
        *(DATA / "otrf/datasets/compound/apt29/day1/zeek/individual_zeek_logs").glob("*.log"),
    ],
    "access": [*(BEATS / "filebeat/module").glob("*/access/test/*.log")],
    "cloudtrail": [*(BEATS / "x-pack/filebeat/module/aws/cloudtrail/test").glob("*.log")],
    "windows": [
        *(DATA / "otrf/datasets/atomic/windows").rglob("*.zip"),
        *(DATA / "sigma/regression_data").rglob("*.evtx"),
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("log_format", sorted(SAMPLES))
def test_every_sample_ingests_without_quarantine(log_format):
    source = SourceFactory(format=log_format)
    files = [p for p in SAMPLES[log_format] if not p.name.endswith("-expected.json")]
    assert files
    accepted = 0
    for path in files:
        report = file_ingest(source=source, name=path.name, data=path.read_bytes())
        assert report.quarantined == 0, (path, report.errors[:5])
        accepted += report.accepted
    # Every accepted record is a row; duplicates are records two sample files share (the
    # same EVTX record in two Sigma test cases), stored once.
    assert Event.objects.filter(source=source).count() == accepted > 0
    assert not QuarantinedRecord.objects.filter(source=source).exists()


@pytest.mark.django_db
def test_wazuh_web_lines_in_combined_format_are_access_events():
    lines = [
        line
        for line in wazuh_lines("web_rules", "web_appsec", "apache", "nginx").decode().splitlines()
        if re.match(r"^\S+ \S+ \S+ \[", line)
    ]
    source = SourceFactory(format="access")
    report = file_ingest(source=source, name="web.log", data=("\n".join(lines) + "\n").encode())
    assert (report.accepted, report.quarantined) == (len(lines), 0)
    wp_admin = Event.objects.filter(source=source, normalized_data__url__path="/wp-admin").first()
    assert wp_admin is not None and wp_admin.normalized_data["http"]["request"]["method"] == "POST"


def _one(source_format: str, **lookup):
    return Event.objects.filter(source__format=source_format, **lookup).first()


@pytest.mark.django_db
def test_stored_fields_are_where_an_analyst_looks():
    for log_format in ("syslog", "suricata", "windows", "cloudtrail"):
        source = SourceFactory(format=log_format)
        for path in SAMPLES[log_format][:3]:
            file_ingest(source=source, name=path.name, data=path.read_bytes())
    failed = _one("syslog", event_type="ssh_login_failed")
    assert failed.source_ip is not None and failed.normalized_data["user"]["name"]
    assert failed.normalized_data["event"]["outcome"] == "failure"
    assert failed.raw_data.startswith(failed.raw_data.split()[0])  # the raw line is kept
    alert = _one("suricata", event_type="suricata_alert")
    assert alert.normalized_data["rule"]["name"] and alert.dest_port is not None
    assert alert.protocol == "tcp" or alert.protocol == "udp"
    windows = _one("windows")
    assert windows.normalized_data["EventID"] and windows.normalized_data["winlog"]["channel"]
    assert (
        windows.type_definition is not None and windows.type_definition.name == windows.event_type
    )
    trail = _one("cloudtrail")
    assert trail.normalized_data["eventName"] == trail.normalized_data["event"]["action"]
