"""The engine in real Celery workers (separate processes, Redis broker, this test's
database): a worker killed half way through a batch loses nothing and duplicates nothing
once the batch is replayed, and several workers side by side count every hit once. The
expected alerts come from a backtest, so live and backtest are checked against each other.
"""

from __future__ import annotations

import signal
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from correlation.models import CorrelationRule, RuleStats
from correlation.services import rule_backtest
from events.ingest import events_ingest
from events.models import IngestBatch
from events.parsers import RawRecord
from incidents.models import Alert
from scripts.processes import ProcessGroup, start_worker, wait_until
from socapp.kv import kv
from socapp.roof.bootstrap import BootstrapReport, ensure_rule_pack
from tests.conftest import app_env
from tests.correlation.test_rule_pack import failed
from tests.factories import SourceFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BRUTE_FORCE = "socapp_ssh_brute_force"
FAILURE = "socapp_ssh_auth_failure"


@pytest.fixture
def worker_env():
    import redis

    redis.Redis.from_url(settings.TEST_WORKER_BROKER_URL).flushdb()
    return app_env(CELERY_BROKER_URL=settings.TEST_WORKER_BROKER_URL)


def start_correlation_worker(
    process_group: ProcessGroup,
    env: dict[str, str],
    log: Path,
    name: str,
    pool: str = "solo",
    concurrency: int = 1,
) -> subprocess.Popen[str]:
    worker = start_worker(
        "correlation", env=env, output=log, name=name, pool=pool, concurrency=concurrency
    )
    return process_group.add(worker)


def send_correlation(batch_ids: list) -> None:
    # Not the current app: shared tasks of later (eager) tests must keep using socapp's.
    client = Celery("test-client", broker=settings.TEST_WORKER_BROKER_URL, set_as_current=False)
    for batch_id in batch_ids:
        client.send_task(
            "correlation.tasks.correlate_batch", args=[str(batch_id)], queue="correlation"
        )
    client.close()


def attack_batch(start: datetime, attackers: range, tries: int = 12) -> list[str]:
    lines = []
    for n in attackers:
        ip = f"198.51.{n // 250}.{n % 250 + 1}"
        lines += [failed(start + timedelta(seconds=n * 60 + s), ip=ip) for s in range(tries)]
    return lines


def pending_batches(batches: list[list[str]]) -> list:
    """Store the batches as committed but not yet correlated (what the workers pick up).

    They are ingested before the rules exist (the eager hand-off then finds nothing to
    do), and their ``correlated_at`` cleared, as after a broker restart."""
    source = SourceFactory.create(format="syslog")
    ids = []
    for lines in batches:
        result = events_ingest(
            source=source,
            records=[RawRecord(n, line) for n, line in enumerate(lines, 1)],
            transport="api",
        )
        ids.append(result.batch_id)
    IngestBatch.objects.filter(pk__in=ids).update(correlated_at=None)
    return ids


def predicted_alerts(since: datetime) -> dict[str, int]:
    rule = CorrelationRule.objects.get(sigma_name=BRUTE_FORCE)
    result = rule_backtest(
        actor=None, rule=rule, since=since, until=timezone.now(), first_matches=10_000
    )
    return {m.id: m.count for m in result.first_matches}


def live_alerts() -> dict[str, int]:
    return {str(a.pk): a.count for a in Alert.objects.filter(rule__sigma_name=BRUTE_FORCE)}


def failure_hits() -> int:
    return RuleStats.objects.get(rule__sigma_name=FAILURE).hits


def test_a_worker_killed_mid_batch_then_replayed_leaves_the_same_alerts(
    reference_data, process_group, worker_env, tmp_path
):
    start = (timezone.now() - timedelta(hours=5)).replace(second=0, microsecond=0)
    attackers = range(200)
    (batch_id,) = pending_batches([attack_batch(start, attackers)])
    ensure_rule_pack(BootstrapReport())
    predicted = predicted_alerts(start - timedelta(minutes=1))
    brute_force_id = CorrelationRule.objects.get(sigma_name=BRUTE_FORCE).pk

    first = start_correlation_worker(process_group, worker_env, tmp_path / "first.log", "first")
    send_correlation([batch_id])
    # half way: some attackers' windows are in Redis, the batch is not committed
    wait_until(
        lambda: len(list(kv().scan_iter(f"socapp:corr:{brute_force_id}:*:m"))) > 20,
        timeout=90,
        interval=0.05,
        what=f"the first worker to be busy ({(tmp_path / 'first.log').read_text()[-2000:]})",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert IngestBatch.objects.get(pk=batch_id).correlated_at is None
    assert Alert.objects.count() == 0  # the batch transaction died with the worker

    start_correlation_worker(process_group, worker_env, tmp_path / "second.log", "second")
    send_correlation([batch_id])  # what the sweeper does a minute later
    wait_until(
        lambda: IngestBatch.objects.get(pk=batch_id).correlated_at is not None,
        timeout=180,
        what=f"the replay ({(tmp_path / 'second.log').read_text()[-2000:]})",
    )
    assert len(predicted) == 200 and all(count == 12 for count in predicted.values())
    # the same alerts, by id and count, as the backtest said before anything ran
    assert live_alerts() == predicted
    assert failure_hits() == 200 * 12  # the dead worker's counting died with it


def test_several_workers_count_every_hit_once(reference_data, process_group, worker_env, tmp_path):
    start = (timezone.now() - timedelta(hours=5)).replace(second=0, microsecond=0)
    batches = [attack_batch(start, range(n * 5, n * 5 + 5)) for n in range(16)]
    batch_ids = pending_batches(batches)
    ensure_rule_pack(BootstrapReport())
    predicted = predicted_alerts(start - timedelta(minutes=1))
    for name in ("one", "two"):
        start_correlation_worker(
            process_group, worker_env, tmp_path / f"{name}.log", name, pool="prefork", concurrency=2
        )
    send_correlation(batch_ids + batch_ids)  # every batch delivered twice
    wait_until(
        lambda: (
            not IngestBatch.objects.filter(pk__in=batch_ids, correlated_at__isnull=True).exists()
        ),
        timeout=180,
        what=f"all batches ({(tmp_path / 'one.log').read_text()[-2000:]})",
    )
    assert len(predicted) == 80 and all(count == 12 for count in predicted.values())
    assert live_alerts() == predicted
    assert failure_hits() == 80 * 12


def test_a_rule_eating_the_budget_is_turned_off_while_other_batches_flow(
    reference_data, process_group, worker_env, tmp_path
):
    from tests.correlation.test_engine_health import failures_batch, heavy_rule

    start = (timezone.now() - timedelta(hours=5)).replace(second=0, microsecond=0)
    # 240 failures whose long messages make one rule take ~0.25 s an event, then four
    # ordinary brute-force batches behind it
    heavy_batch = failures_batch(SourceFactory(format="syslog"), 240, ip="203.0.113.77")
    others = pending_batches([attack_batch(start, range(n * 5, n * 5 + 5)) for n in range(4)])
    ensure_rule_pack(BootstrapReport())
    heavy = heavy_rule()
    env = {
        **worker_env,
        "CORRELATION_BATCH_BUDGET_SECONDS": "3",
        "CORRELATION_BUDGET_STRIKES": "2",
    }
    start_correlation_worker(process_group, env, tmp_path / "budget.log", "budget")
    send_correlation([heavy_batch, *others])
    everything = [heavy_batch, *others]
    wait_until(
        lambda: (
            not IngestBatch.objects.filter(pk__in=everything, correlated_at__isnull=True).exists()
        ),
        timeout=300,
        what=f"all batches ({(tmp_path / 'budget.log').read_text()[-3000:]})",
    )
    heavy.refresh_from_db()
    assert not heavy.is_active and "correlation attempts over the 3.0 s budget" in (
        heavy.disabled_reason
    )
    # the batches behind the heavy one did not wait for it
    done = {
        str(pk): at
        for pk, at in IngestBatch.objects.filter(pk__in=everything).values_list(
            "pk", "correlated_at"
        )
    }
    assert all(done[str(batch)] < done[heavy_batch] for batch in others)
    attackers = Alert.objects.filter(rule__sigma_name=BRUTE_FORCE).exclude(
        group_key="source.ip=203.0.113.77"
    )
    assert sorted(a.count for a in attackers) == [12] * 20
    # and the heavy batch itself was correlated in full, in parts, without the rule
    (alert,) = Alert.objects.filter(
        rule__sigma_name=BRUTE_FORCE, group_key="source.ip=203.0.113.77"
    )
    assert alert.count == 240  # four minutes of failures: one five-minute window
    assert Alert.objects.filter(rule=heavy, title__startswith="Rule turned off").count() == 1
