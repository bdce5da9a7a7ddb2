"""The audit log is append-only, tamper-evident, survives the database's round trip, and
cannot lose its newest entries unnoticed."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import math
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from socapp.audit import audit_record, audit_verify, entry_mac_matches
from socapp.models import AuditAnchor, AuditEntry
from socapp.roof.bootstrap import BootstrapReport, ensure_periodic_tasks
from socapp.tasks import audit_checkpoint
from tests.conftest import client_for
from tests.factories import AssetTypeFactory, ThreatIntelFactory


@pytest.fixture
def chain(analyst_a) -> list[AuditEntry]:
    return [audit_record(actor=analyst_a, action="test.step", changes={"n": n}) for n in range(5)]


def verify_command(*args: str) -> tuple[str, str]:
    """Run `manage.py audit_verify`; (stdout, stderr). Raises CommandError on exit 1."""
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from exc
    return out.getvalue(), err.getvalue()


def broken_because(*args: str) -> str:
    with pytest.raises(CommandError, match="broken") as failure:
        verify_command(*args)
    return str(failure.value)


@pytest.mark.django_db
def test_entries_chain_and_verify(chain):
    assert [e.seq for e in chain] == list(range(chain[0].seq, chain[0].seq + 5))
    assert all(b.prev_mac == a.mac for a, b in itertools.pairwise(chain))
    assert audit_verify() == []
    assert "intact" in verify_command()[0]


@pytest.mark.django_db
def test_the_database_refuses_updates_deletes_and_truncation(chain):
    audit_checkpoint()
    for statement in (
        "UPDATE socapp_auditentry SET action = 'x'",
        "DELETE FROM socapp_auditentry",
        "TRUNCATE socapp_auditentry",
        "UPDATE socapp_auditanchor SET head_seq = 0",
        "DELETE FROM socapp_auditanchor",
        "TRUNCATE socapp_auditanchor",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AuditEntry.objects.count() == 5
    assert AuditAnchor.objects.count() == 1


def _bypass_trigger(sql: str, params: list, table: str = "socapp_auditentry") -> None:
    """What someone with owner rights on the database could do behind the application:
    switch the guards off, do the deed, switch them on again."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


@pytest.mark.django_db
def test_an_edit_behind_the_applications_back_is_detected(chain):
    _bypass_trigger(
        "UPDATE socapp_auditentry SET changes = '{\"n\": 99}' WHERE seq = %s", [chain[2].seq]
    )
    problems = audit_verify()
    assert [p.seq for p in problems] == [chain[2].seq]
    broken_because()


@pytest.mark.django_db
def test_a_deleted_entry_is_detected(chain):
    _bypass_trigger("DELETE FROM socapp_auditentry WHERE seq = %s", [chain[1].seq])
    reasons = {p.reason for p in audit_verify()}
    assert any("gap" in r for r in reasons)


@pytest.mark.django_db
def test_api_changes_are_audited(soc_admin):
    response = client_for(soc_admin).post(
        reverse("api:assettype-list"), {"name": "printer"}, format="json"
    )
    entry = AuditEntry.objects.get(action="create", object_id=response.json()["id"])
    assert entry.actor_name == "soc_admin"
    assert entry.changes["name"] == [None, "printer"]


# ---- what is MAC'd survives the database ----------------------------------------------

# Numbers whose text jsonb changes (1e20 comes back as an integer, -0.0 as 0.0), and
# some it keeps; all must verify after the round trip.
AWKWARD_NUMBERS = [
    1e20,
    1.5e-7,
    12345678901234567890,
    2**64 + 1,
    -0.0,
    1.0,
    1.5e16,
    1e308,
    5e-324,
    0.1 + 0.2,
    -123.456e-30,
]


@pytest.mark.django_db
def test_an_api_fuzz_run_with_floats_leaves_a_chain_that_verifies(integration):
    AssetTypeFactory(name="server")
    ThreatIntelFactory(source_name="feed")
    api = client_for(integration)
    for n, number in enumerate(AWKWARD_NUMBERS):
        metadata = {"v": number, "nested": [{"x": number, "é😀": [number, "ü"]}], "n": n}
        asset = api.post(
            reverse("api:asset-list"),
            {"name": f"host-{n}", "asset_type": "server", "team": "Team A", "attributes": metadata},
            format="json",
        )
        assert asset.status_code == 201, asset.content
        changed = api.patch(
            reverse("api:asset-detail", args=[asset.json()["id"]]),
            {"attributes": {"v": [number, number]}},
            format="json",
        )
        assert changed.status_code == 200, changed.content
        ioc = api.post(
            reverse("api:ioc-list"),
            {"intel": "feed", "ioc_type": "ipv4", "value": f"198.51.100.{n + 1}", "tags": [number]},
            format="json",
        )
        assert ioc.status_code == 201, ioc.content
    assert AuditEntry.objects.count() == 3 * len(AWKWARD_NUMBERS)
    assert audit_verify() == []
    verify_command()
    # What the log shows is what the database kept: 1e20 is the integer it names.
    first = AuditEntry.objects.filter(action="asset.create", object_type="assets.asset").last()
    assert first.changes["attributes"][1]["v"] == 10**20


@pytest.mark.django_db
def test_values_the_database_cannot_store_are_kept_readably_and_verify(analyst_a):
    audit_record(
        actor=analyst_a,
        action="test.odd\x00values",
        changes={
            "nan": math.nan,
            "inf": [math.inf, -math.inf],
            "nul": "a\x00b",
            "surrogate": "x\ud800y",
            "huge": 10**5000,
            1: "an int key",
            None: "a null key",
            "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "decimal": Decimal("1.10"),
            "tuple": (1, 2.0),
            "k\x00ey": {"deep": [[[-0.0]]]},
        },
        remote_addr="2001:0DB8:0000::0001",
        user_agent="agent\x00/1.0",
    )
    entry = AuditEntry.objects.get()
    assert entry.action == "test.odd\ufffdvalues"
    assert entry.changes["nan"] == "NaN"
    assert entry.changes["inf"] == ["Infinity", "-Infinity"]
    assert entry.changes["nul"] == "a\ufffdb"
    assert entry.changes["surrogate"] == "x\ufffdy"
    assert entry.changes["huge"].startswith("<integer of")
    assert entry.changes["1"] == "an int key" and entry.changes["null"] == "a null key"
    assert entry.changes["tuple"] == [1, 2]
    assert entry.changes["k\ufffdey"] == {"deep": [[[0]]]}
    assert entry.remote_addr == "2001:db8::1"
    assert entry.user_agent == "agent\ufffd/1.0"
    assert audit_verify() == []


# Every JSON value, and what Python code hands the log besides: any float (NaN and
# infinities too), integers far beyond 64 bits, text with NUL and lone surrogates.
_text = st.text(
    st.one_of(st.characters(codec=None, categories=None), st.sampled_from("\x00\ud800é😀"))
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(AWKWARD_NUMBERS),
    _text,
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.one_of(_text, st.integers()), children, max_size=4)
    ),
    max_leaves=20,
)


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=_values, name=_text)
def test_any_value_survives_the_database_round_trip(analyst_a, value, name):
    written = audit_record(
        actor=analyst_a, action="test.any", changes={"value": value}, actor_name=name
    )
    read_back = AuditEntry.objects.get(seq=written.seq)
    assert read_back.changes == written.changes  # what is shown is what was MAC'd
    assert entry_mac_matches(read_back)


def _old_mac(prev_mac: str, entry: AuditEntry) -> str:
    """How entries were MAC'd before format 2 (the code as it was, repeated here so the
    test does not lean on the code under test)."""
    body = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
        "remote_addr": entry.remote_addr,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    key = settings.AUDIT_HMAC_KEY.encode()
    return hmac.new(key, prev_mac.encode() + canonical, hashlib.sha256).hexdigest()


def _write_old_chain(user, changes: list[dict]) -> None:
    prev = "0" * 64
    for seq, change in enumerate(changes, start=1):
        entry = AuditEntry(
            seq=seq,
            at=datetime(2026, 3, 1, 12, 0, seq, 250, tzinfo=UTC),
            actor_id=user.pk,
            actor_name=user.username,
            action="asset.update",
            object_type="assets.asset",
            object_id=str(seq),
            object_repr=f"host-{seq}",
            changes=json.loads(json.dumps(change, default=str)),
            remote_addr="192.0.2.7",
            prev_mac=prev,
            mac_version=1,
        )
        entry.mac = prev = _old_mac(prev, entry)
        entry.save(force_insert=True)


@pytest.mark.django_db
def test_a_chain_written_the_old_way_still_verifies_and_grows(analyst_a):
    # The third and fourth are the old format's false alarms: floats jsonb turns into
    # integers (1e+20 -> 100000000000000000000) or zeros it unsigns.
    _write_old_chain(
        analyst_a,
        [{"n": 1}, {"v": [None, 1.5]}, {"v": [1e20, 2.5e16]}, {"z": -0.0}, {"s": "ü"}],
    )
    assert audit_verify() == []
    audit_record(actor=analyst_a, action="test.after", changes={"v": 1e20})
    assert [e.mac_version for e in AuditEntry.objects.order_by("seq")] == [1, 1, 1, 1, 1, 2]
    assert audit_verify() == []
    verify_command()


@pytest.mark.django_db
def test_old_entries_remain_tamper_evident(analyst_a):
    _write_old_chain(analyst_a, [{"v": 1e20}, {"n": 2}, {"n": 3}])
    # Another value, though one the float leniency could print alike, is an edit.
    _bypass_trigger(
        "UPDATE socapp_auditentry SET changes = '{\"v\": 100000000000000000001}' WHERE seq = 1",
        [],
    )
    # Fields format 1 does not MAC must keep the values format 1 entries had.
    _bypass_trigger("UPDATE socapp_auditentry SET result = 'denied' WHERE seq = 2", [])
    # Claiming a format 2 entry is format 1 is a downgrade.
    audit_record(actor=analyst_a, action="test.after")
    audit_record(actor=analyst_a, action="test.after")
    _bypass_trigger("UPDATE socapp_auditentry SET mac_version = 1 WHERE seq = 5", [])
    problems = {(p.seq, p.reason) for p in audit_verify()}
    assert (1, "content does not match its MAC") in problems
    assert any(seq == 2 and "before they existed" in r for seq, r in problems)
    assert any(seq == 5 and "downgraded" in r for seq, r in problems)
    assert (5, "content does not match its MAC") in problems


# ---- anchors: the newest entries cannot go unnoticed ----------------------------------


@pytest.mark.django_db
def test_deleting_the_newest_entries_is_detected(chain):
    call_command("audit_anchor", stdout=StringIO())
    _bypass_trigger("DELETE FROM socapp_auditentry WHERE seq > %s", [chain[2].seq])
    # The chain that is left is intact in itself; only the anchor knows it was longer.
    reason = broken_because()
    assert "entries 4-5 missing: the chain ends at #3 but an anchor at" in reason
    assert "saw #5" in reason


@pytest.mark.django_db
def test_truncating_the_log_is_detected(chain):
    call_command("audit_anchor", stdout=StringIO())
    _bypass_trigger("TRUNCATE socapp_auditentry", [])
    assert AuditEntry.objects.count() == 0
    assert "the table is empty but anchors saw 5 entries" in broken_because()


@pytest.mark.django_db
def test_a_chain_rebuilt_after_truncation_is_detected(chain, analyst_a):
    call_command("audit_anchor", stdout=StringIO())  # saw #5
    _bypass_trigger("TRUNCATE socapp_auditentry", [])
    for n in range(6):  # a new chain from #1, longer than the old one
        audit_record(actor=analyst_a, action="test.new", changes={"n": n})
    reason = broken_because()
    assert "#5: not the entry an anchor at" in reason


@pytest.mark.django_db
def test_exported_anchors_catch_a_truncation_of_log_and_anchors(chain, tmp_path: Path):
    call_command("audit_anchor", stdout=StringIO())
    export = StringIO()
    call_command("audit_anchor", "--export", stdout=export)
    anchors_file = tmp_path / "anchors.jsonl"
    anchors_file.write_text(export.getvalue())
    _bypass_trigger("TRUNCATE socapp_auditentry", [])
    _bypass_trigger("TRUNCATE socapp_auditanchor", [], table="socapp_auditanchor")
    # With nothing left in the database, the database alone cannot tell.
    verify_command()
    reason = broken_because("--anchors", str(anchors_file))
    assert "the table is empty but anchors saw 5 entries" in reason
    assert "1 anchor(s) of the anchor file are missing from the anchor table" in reason


@pytest.mark.django_db
def test_the_anchor_is_logged_and_the_log_is_an_anchor_file(chain, caplog, tmp_path: Path):
    with caplog.at_level(logging.INFO, logger="socapp.audit.anchor"):
        audit_checkpoint()
    (record,) = [r for r in caplog.records if r.name == "socapp.audit.anchor"]
    line = json.loads(record.getMessage())
    assert line["type"] == "socapp.audit_anchor"
    assert (line["head_seq"], line["count"]) == (5, 5)
    assert line["head_mac"] == chain[-1].mac
    shipped = tmp_path / "shipped.log"
    shipped.write_text(f"Dec  6 12:00:00 web-1 socapp INFO {record.getMessage()}\nother noise\n")
    _bypass_trigger("DELETE FROM socapp_auditentry WHERE seq = 5", [])
    _bypass_trigger("TRUNCATE socapp_auditanchor", [], table="socapp_auditanchor")
    assert "entries 5-5 missing" in broken_because("--anchors", str(shipped))


@pytest.mark.django_db
def test_a_forged_anchor_is_refused(chain, tmp_path: Path):
    export = StringIO()
    call_command("audit_anchor", stdout=export)
    forged = json.loads(export.getvalue())
    forged["head_seq"] = 3  # "the log only ever had three entries"
    anchors_file = tmp_path / "anchors.jsonl"
    anchors_file.write_text(json.dumps(forged) + "\n{not json socapp.audit_anchor\n")
    reason = broken_because("--anchors", str(anchors_file))
    assert "has a bad signature" in reason
    assert "line 2 of the anchor file is not a readable anchor" in reason


@pytest.mark.django_db
def test_anchors_are_scheduled_by_bootstrap(reference_data):
    ensure_periodic_tasks(BootstrapReport())
    task = PeriodicTask.objects.get(task="socapp.tasks.audit_checkpoint")
    assert task.interval.every == settings.AUDIT_ANCHOR_INTERVAL_SECONDS == 300
    assert task.queue == "maintenance" and task.enabled
