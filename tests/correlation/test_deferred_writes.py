"""A hit's last write waits for the next round trip inside ``deferred_writes()``
(correlation/engine/windows/deferred.py): what is decided is the same as without it, and
leaving the block - also by an exception - writes every decided hit and lets go of every
key, so the next worker neither waits for a lock nor decides a hit twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from correlation.engine.windows import Windows
from correlation.engine.windows.deferred import deferred_writes, pending
from correlation.engine.windows.hits import group_key_of, key_base
from socapp.kv import kv
from tests.correlation.test_window_bounds import T0, base_rule, correlation_spec, lookup_for

pytestmark = pytest.mark.django_db

COUNT = "  type: event_count\n  rules: [failed]\n  group-by: [user.name]\n  timespan: 1h\n"


def feed(windows: Windows, ids: dict[str, str], n: int):
    return windows.feed(
        ids["failed"], f"e{n}", T0 + timedelta(seconds=n), lookup_for({"user": {"name": "bob"}})
    )


def test_the_same_firings_with_and_without_deferred_writes() -> None:
    base_rule("failed")
    fired = []
    for defer in (False, True):
        spec, ids = correlation_spec(COUNT + "  condition: {gte: 3}\n")
        windows = Windows(spec)
        results = []
        if defer:
            with deferred_writes():
                results = [feed(windows, ids, n) for n in range(7)]
        else:
            results = [feed(windows, ids, n) for n in range(7)]
        fired.append([(n, len(r.firings), len(r.folds)) for n, r in enumerate(results)])
    assert fired[0] == fired[1]
    # The third hit fires; the rest of its hour folds into that alert.
    assert fired[1] == [(0, 0, 0), (1, 0, 0), (2, 1, 0), (3, 0, 1), (4, 0, 1), (5, 0, 1), (6, 0, 1)]


def test_leaving_by_an_exception_writes_the_hits_and_lets_go_of_the_key() -> None:
    base_rule("failed")
    spec, ids = correlation_spec(COUNT + "  condition: {gte: 100}\n")
    windows = Windows(spec)
    base = key_base(spec.rule_id, group_key_of({"user.name": "bob"}))
    with pytest.raises(RuntimeError), deferred_writes():
        feed(windows, ids, 1)
        feed(windows, ids, 2)
        assert pending() == 1  # the second hit's write waits; its key is still locked
        assert kv().exists(f"{base}:lock")
        raise RuntimeError("the batch failed")
    assert pending() == 0
    assert not kv().exists(f"{base}:lock")
    assert kv().zcard(f"{base}:m") == 2
    # A replay of the same hits changes nothing: both are known.
    assert not feed(windows, ids, 2).firings
    assert kv().zcard(f"{base}:m") == 2
