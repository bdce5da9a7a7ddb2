"""A single-account brute force of thousands of failed logons in ONE batch, with the
default pack active: every brute-force window alerts with its exact count, the spraying
rule (one account: never met) stays quiet, and the engine's Redis work and the bytes it
reads back per failed logon are the same for 500 failures as for 5,000 (counted on a Redis
server of the test's own, never timed). The same case with 1,000 SigmaHQ rules is in the bench."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from correlation.services import batch_correlate
from events.ingest import events_ingest
from events.models import IngestBatch
from events.parsers import RawRecord
from incidents.models import Alert
from socapp.kv import kv
from tests.correlation.test_rule_pack import failed
from tests.factories import SourceFactory

WINDOW = 300  # the pack's SSH brute force: >= 10 failures from one address in 5 minutes


def one_batch_of_failures(start: datetime, count: int, ip: str) -> str:
    """``count`` failed logons for root from ``ip``, one a second, stored as one batch
    that is committed but not correlated yet."""
    lines = [failed(start + timedelta(seconds=n), user="root", ip=ip) for n in range(count)]
    result = events_ingest(
        source=SourceFactory.create(format="syslog"),
        records=[RawRecord(n, line) for n, line in enumerate(lines, 1)],
        transport="api",
    )
    assert result.accepted == count
    IngestBatch.objects.filter(pk=result.batch_id).update(correlated_at=None)
    return str(result.batch_id)


def redis_counters() -> tuple[int, int, int]:
    """Commands run, bytes sent back, and requests read (the server's read events: a
    pipeline is one, so this counts round trips)."""
    redis = kv()
    commands = sum(v["calls"] for v in redis.info("commandstats").values())
    stats = redis.info("stats")
    return commands, int(stats["total_net_output_bytes"]), int(stats["total_reads_processed"])


def correlate_counting(batch_id: str) -> tuple[float, float, float]:
    """Correlate one batch; Redis commands, bytes read back and round trips per event."""
    before = redis_counters()
    batch_correlate(batch_id=batch_id)
    after = redis_counters()
    events = IngestBatch.objects.get(pk=batch_id).accepted
    commands, read, trips = ((a - b) / events for a, b in zip(after, before, strict=True))
    return commands, read, trips


def expected_windows(count: int) -> list[int]:
    """Hit counts of the brute-force alerts: a window fires at its tenth failure, the rest
    of its 5 minutes (inclusive) folds in, and counting starts afresh after it."""
    sizes, start = [], 0
    while count - start >= 10:
        sizes.append(min(WINDOW + 1, count - start))
        start += WINDOW + 1
    return sizes


@pytest.mark.django_db
def test_thousands_of_failed_logons_in_one_batch_alert_exactly_with_bounded_work(
    own_redis, pack, settings
):
    settings.CORRELATION_BATCH_BUDGET_SECONDS = 0  # one attempt each, whatever the load here
    start = (timezone.now() - timedelta(hours=3)).replace(microsecond=0)
    small = one_batch_of_failures(start, 500, ip="198.51.100.5")
    large = one_batch_of_failures(start, 5000, ip="198.51.100.50")

    commands_small, bytes_small, trips_small = correlate_counting(small)
    commands_large, bytes_large, trips_large = correlate_counting(large)

    for ip, count in (("198.51.100.5", 500), ("198.51.100.50", 5000)):
        found = Alert.objects.filter(
            rule__sigma_name="socapp_ssh_brute_force", group_key=f"source.ip={ip}"
        ).order_by("triggered_at")
        assert [a.count for a in found] == expected_windows(count)
        assert [a.triggered_at for a in found] == [
            start + timedelta(seconds=n * (WINDOW + 1) + 9) for n in range(len(found))
        ]
    assert not Alert.objects.filter(rule__sigma_name="socapp_password_spraying").exists()
    assert IngestBatch.objects.get(pk=large).correlated_at is not None
    # ten times the failures, the same work per failure (the old engine re-read every
    # window's hits on each one: its bytes per failure grew with the batch)
    assert commands_large <= commands_small * 1.1 + 1, (commands_small, commands_large)
    assert bytes_large <= bytes_small * 1.2 + 64, (bytes_small, bytes_large)
    # Each failure feeds two correlation rules (brute force, spraying): a read each, and
    # each write travels with the next read (deferred.py) - two round trips, not four.
    assert trips_large <= 2.3, trips_large
    print(f"per failure: {commands_large:.1f} commands, {bytes_large:.0f} bytes, "
          f"{trips_small:.2f} / {trips_large:.2f} round trips")  # fmt: skip
