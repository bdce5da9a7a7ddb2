"""Event ids: version-7 UUIDs, each greater than the last one the process made (so ids
follow the order events were read in), distinct in forked children."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from socapp import ids
from socapp.ids import uuid7, uuid7_floor, uuid_right_after


@pytest.fixture(autouse=True)
def _the_real_clock_afterwards():
    """These tests move the process's last millisecond to made-up times; the ids of the
    tests after them follow the real clock again."""
    yield
    ids._last_millis, ids._counter = -1, 0


def test_ids_made_in_one_millisecond_follow_the_order_they_were_made() -> None:
    with mock.patch.object(ids.time, "time_ns", return_value=1_800_000_000_000_000_000):
        made = [uuid7() for _ in range(10_000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert {u.version for u in made} == {7} and {u.variant for u in made} == {uuid.RFC_4122}
    assert {u.int >> 80 for u in made} == {1_800_000_000_000}  # the millisecond, as RFC 9562


def test_a_clock_stepping_back_does_not_turn_the_order_around() -> None:
    first = uuid7()
    with mock.patch.object(ids.time, "time_ns", return_value=1_000_000_000_000_000):
        later = [uuid7() for _ in range(3)]
    assert [first, *later] == sorted([first, *later])


def test_a_counter_that_runs_out_borrows_the_next_millisecond() -> None:
    with mock.patch.object(ids.time, "time_ns", return_value=1_900_000_000_000_000_000):
        uuid7()
        ids._counter = (1 << ids._COUNTER_BITS) - 1
        after = uuid7()
    assert after.int >> 80 == 1_900_000_000_001


def test_an_id_for_a_given_time_carries_that_time() -> None:
    at = datetime(2026, 12, 7, 3, 0, 0, 123000, tzinfo=UTC)
    assert uuid7(at).int >> 80 == int(at.timestamp() * 1000)


def test_an_id_right_after_another_sorts_between_it_and_the_next() -> None:
    before, after = uuid7(), uuid7()
    placed = uuid_right_after(before, "rule", "key")
    assert placed == uuid_right_after(str(before), "rule", "key")  # derived: the same again
    assert placed != uuid_right_after(before, "other rule", "key")
    assert placed.int >> 32 == before.int >> 32 and placed < after


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    """Parent and child make ids in the same millisecond (a prefork worker pool)."""
    reader, writer = os.pipe()
    with mock.patch.object(ids.time, "time_ns", return_value=1_700_000_000_000_000_000):
        uuid7()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child
            os.write(writer, "".join(str(uuid7()) for _ in range(100)).encode())
            os._exit(0)
        os.close(writer)
        os.waitpid(child, 0)
        ours = {str(uuid7()) for _ in range(100)}
    text = os.read(reader, 100 * 36).decode()
    os.close(reader)
    theirs = {text[i : i + 36] for i in range(0, len(text), 36)}
    assert len(theirs) == 100 and not theirs & ours


def test_the_floor_of_a_millisecond_bounds_the_ids_made_in_it() -> None:
    at = datetime(2026, 12, 7, 3, 0, 0, 123000, tzinfo=UTC)
    made = [uuid7(at) for _ in range(100)]
    assert all(uuid7_floor(at) <= u < uuid7_floor(at + timedelta(milliseconds=1)) for u in made)
    assert uuid7_floor(at).version == 7
