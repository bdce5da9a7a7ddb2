"""Sigma correlation semantics (mission.md §5.2 and §5.9 test vectors): each type, the
window boundary, arrival order, aliases, chaining, conditions decided at window close."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from correlation.engine.evaluate import StoredEvent
from correlation.engine.ruleset import active_ruleset
from correlation.services import correlate_events, rule_save
from incidents.models import Alert
from tests.factories import SourceFactory

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AUTH = "{product: linux, service: auth}"


def base_rule(name: str, action: str) -> None:
    rule_save(
        actor=None,
        definition=(
            f"title: {name}\nname: {name}\nlogsource: {AUTH}\nlevel: low\n"
            f"detection:\n  sel:\n    event.action: {action}\n  condition: sel\n"
        ),
    )


def correlation(body: str, title: str = "corr", generate: bool = False) -> object:
    text = (
        f"title: {title}\nname: {title}\nlevel: high\n"
        f"generate: {str(generate).lower()}\ncorrelation:\n{body}"
    )
    return rule_save(actor=None, definition=text)


@pytest.fixture
def source(reference_data):
    return SourceFactory(format="syslog")


def event(origin, seconds: float, action: str, **fields) -> StoredEvent:
    doc = {"event": {"dataset": "system.auth", "action": action}, **fields}
    return StoredEvent(str(uuid.uuid4()), T0 + timedelta(seconds=seconds), origin.pk, doc)


def run(*events: StoredEvent) -> None:
    correlate_events(list(events), active_ruleset(force=True))


def alerts_of(rule) -> list[Alert]:
    return list(Alert.objects.filter(rule=rule).order_by("triggered_at"))


USER = {"user": {"name": "bob"}}


@pytest.fixture
def failed_three_in_a_minute(source):
    base_rule("failed", "failed")
    return correlation(
        "  type: event_count\n  rules: [failed]\n  group-by: [user.name]\n  timespan: 60s\n"
        "  condition: {gte: 3}\n"
    )


@pytest.mark.django_db
def test_event_count_window_is_inclusive_at_exactly_the_timespan(source, failed_three_in_a_minute):
    run(*(event(source, s, "failed", **USER) for s in (0, 30, 60)))
    (alert,) = alerts_of(failed_three_in_a_minute)
    assert alert.details["metric"] == 3 and alert.group_key == "user.name=bob"
    assert alert.correlation.event_links.count() == 3


@pytest.mark.django_db
def test_event_count_one_second_past_the_timespan_does_not_fire(source, failed_three_in_a_minute):
    run(*(event(source, s, "failed", **USER) for s in (0, 30, 61)))
    assert alerts_of(failed_three_in_a_minute) == []


@pytest.mark.django_db
def test_out_of_order_arrival_within_lateness_still_counts(source, failed_three_in_a_minute):
    run(event(source, 60, "failed", **USER))
    run(event(source, 0, "failed", **USER))
    run(event(source, 30, "failed", **USER))
    assert len(alerts_of(failed_three_in_a_minute)) == 1


@pytest.mark.django_db
def test_groups_are_counted_apart_and_events_without_the_field_are_skipped(
    source, failed_three_in_a_minute
):
    run(
        event(source, 0, "failed", **USER),
        event(source, 1, "failed", user={"name": "eve"}),
        event(source, 2, "failed"),
        event(source, 3, "failed", **USER),
    )
    assert alerts_of(failed_three_in_a_minute) == []


@pytest.mark.django_db
def test_the_rest_of_a_fired_window_folds_into_its_alert(source, failed_three_in_a_minute):
    run(*(event(source, s, "failed", **USER) for s in (0, 10, 20, 30, 40)))
    (alert,) = alerts_of(failed_three_in_a_minute)
    assert (alert.count, alert.suppressed_count) == (5, 2)  # all five, two after it fired


@pytest.mark.django_db
def test_replaying_the_same_hits_changes_nothing(source, failed_three_in_a_minute):
    events = [event(source, s, "failed", **USER) for s in (0, 10, 20, 30)]
    run(*events)
    run(*events)
    (alert,) = alerts_of(failed_three_in_a_minute)
    assert (alert.count, alert.suppressed_count) == (4, 1)


@pytest.mark.django_db
def test_base_rules_raise_no_alerts_of_their_own_unless_generate(source, failed_three_in_a_minute):
    run(event(source, 0, "failed", **USER))
    assert Alert.objects.count() == 0


@pytest.mark.django_db
def test_value_count_counts_distinct_values(source):
    base_rule("login_failed", "failed")
    rule = correlation(
        "  type: value_count\n  rules: [login_failed]\n  group-by: [source.ip]\n"
        "  timespan: 5m\n  condition: {gte: 3, field: user.name}\n"
    )
    ip = {"source": {"ip": "198.51.100.7"}}
    run(*(event(source, i, "failed", user={"name": n}, **ip) for i, n in enumerate("aab")))
    assert alerts_of(rule) == []
    run(event(source, 10, "failed", user={"name": "c"}, **ip))
    (alert,) = alerts_of(rule)
    assert alert.details["metric"] == 3


@pytest.mark.django_db
def test_value_sum_and_a_range_condition(source):
    base_rule("upload", "upload")
    rule = correlation(
        "  type: value_sum\n  rules: [upload]\n  group-by: [host.name]\n  timespan: 1h\n"
        "  condition: {gt: 100, lte: 1000, field: bytes}\n"
    )
    host = {"host": {"name": "db1"}}
    run(event(source, 0, "upload", bytes=60, **host), event(source, 5, "upload", bytes=50, **host))
    assert len(alerts_of(rule)) == 1


@pytest.mark.django_db
def test_temporal_fires_when_all_rules_matched_in_any_order(source):
    base_rule("a", "a")
    base_rule("b", "b")
    rule = correlation(
        "  type: temporal\n  rules: [a, b]\n  group-by: [user.name]\n  timespan: 1m\n"
    )
    run(event(source, 0, "b", **USER), event(source, 20, "a", **USER))
    assert len(alerts_of(rule)) == 1


@pytest.mark.django_db
def test_temporal_ordered_needs_the_listed_order(source):
    base_rule("first", "first")
    base_rule("second", "second")
    rule = correlation(
        "  type: temporal_ordered\n  rules: [first, second]\n  group-by: [user.name]\n"
        "  timespan: 1m\n"
    )
    run(event(source, 0, "second", **USER), event(source, 20, "first", **USER))
    assert alerts_of(rule) == []  # reverse order
    run(event(source, 40, "second", **USER))
    assert len(alerts_of(rule)) == 1  # first at 20 s, second at 40 s


@pytest.mark.django_db
def test_aliases_join_different_fields_of_different_rules(source):
    base_rule("internal_error", "error")
    base_rule("new_connection", "connect")
    rule = correlation(
        "  type: temporal\n  rules: [internal_error, new_connection]\n"
        "  group-by: [internal_ip, remote_ip]\n  timespan: 10s\n  aliases:\n"
        "    internal_ip: {internal_error: destination.ip, new_connection: source.ip}\n"
        "    remote_ip: {internal_error: source.ip, new_connection: destination.ip}\n"
    )
    inside, outside = "10.0.0.5", "203.0.113.9"
    run(
        event(source, 0, "error", source={"ip": outside}, destination={"ip": inside}),
        event(source, 5, "connect", source={"ip": inside}, destination={"ip": outside}),
    )
    (alert,) = alerts_of(rule)
    assert alert.group_key == f"internal_ip={inside}, remote_ip={outside}"


@pytest.mark.django_db
def test_a_correlation_can_count_another_correlations_firings(source):
    base_rule("failed_login", "failed")
    base_rule("successful_login", "accepted")
    correlation(
        "  type: event_count\n  rules: [failed_login]\n  group-by: [user.name]\n"
        "  timespan: 10m\n  condition: {gte: 3}\n",
        title="multiple_failed_login",
    )
    chain = correlation(
        "  type: temporal_ordered\n  rules: [multiple_failed_login, successful_login]\n"
        "  group-by: [user.name]\n  timespan: 10m\n",
        title="failed_then_success",
    )
    run(*(event(source, s, "failed", **USER) for s in (0, 10, 20)))
    run(event(source, 60, "accepted", **USER))
    assert len(alerts_of(chain)) == 1


@pytest.mark.django_db
def test_fewer_than_is_decided_when_the_window_closes(source):
    base_rule("heartbeat", "heartbeat")
    rule = correlation(
        "  type: event_count\n  rules: [heartbeat]\n  group-by: [host.name]\n  timespan: 1m\n"
        "  condition: {lt: 3}\n"
    )
    run(
        event(source, 0, "heartbeat", host={"name": "quiet"}),
        event(source, 0, "heartbeat", host={"name": "busy"}),
        event(source, 20, "heartbeat", host={"name": "busy"}),
        event(source, 40, "heartbeat", host={"name": "busy"}),
    )
    # the windows are in the past, so the end of the batch already closed them
    (alert,) = alerts_of(rule)
    assert alert.group_key == "host.name=quiet" and alert.details["metric"] == 1


@pytest.mark.django_db
def test_a_and_not_b_within_the_window(source):
    base_rule("started", "start")
    base_rule("finished", "finish")
    rule = correlation(
        "  type: temporal\n  rules: [started, finished]\n  group-by: [user.name]\n"
        "  timespan: 5m\n  condition: started and not finished\n"
    )
    run(event(source, 0, "start", **USER), event(source, 60, "finish", **USER))
    assert alerts_of(rule) == []
    run(event(source, 3600, "start", **USER))
    assert len(alerts_of(rule)) == 1


@pytest.mark.django_db
def test_one_batch_is_evaluated_in_event_time_order_whatever_its_row_order(source):
    # A batch spanning more than the allowed lateness (300 s), delivered newest first.
    base_rule("failed", "failed")
    rule = correlation(
        "  type: event_count\n  rules: [failed]\n  group-by: [user.name]\n  timespan: 1h\n"
        "  condition: {gte: 3}\n"
    )
    run(*(event(source, s, "failed", **USER) for s in (1200, 600, 0)))
    assert len(alerts_of(rule)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("done_before_dying", [2, 3, 5])
def test_a_replay_after_a_worker_died_mid_batch_raises_the_same_alert(
    source, failed_three_in_a_minute, done_before_dying
):
    from django.db import transaction

    events = [event(source, s, "failed", **USER) for s in (0, 10, 20, 30, 40)]
    with transaction.atomic():  # the worker's batch transaction, never committed
        run(*events[:done_before_dying])
        transaction.set_rollback(True)
    assert alerts_of(failed_three_in_a_minute) == []  # Redis remembers; the database does not
    run(*events)  # the batch again, as the sweeper or a redelivery replays it
    (alert,) = alerts_of(failed_three_in_a_minute)
    assert alert.triggered_at == T0 + timedelta(seconds=20)  # when the third failure came
    assert alert.details["metric"] == 3
    assert (alert.count, alert.suppressed_count) == (5, 2)
    assert alert.correlation.event_links.count() == 5


@pytest.mark.django_db
def test_a_late_hit_completing_a_window_dates_the_alert_by_event_time(
    source, failed_three_in_a_minute
):
    for second in (40, 30, 20):  # newest first, each in its own batch, all within lateness
        run(event(source, second, "failed", **USER))
    (alert,) = alerts_of(failed_three_in_a_minute)
    # the window [20 s, 80 s] held once all three were there: at 40 s in event time
    assert alert.triggered_at == T0 + timedelta(seconds=40)
    assert alert.correlation.start_time == T0 + timedelta(seconds=20)
