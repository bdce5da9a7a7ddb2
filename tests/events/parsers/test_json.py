"""JSON records whose values sit under ECS names without being ECS-shaped: the values are
kept under ``json``, next to whatever the record's own ``json`` key holds, in either order
of the keys (found by hypothesis: ``{"json": null, "source": null}`` was quarantined with
a TypeError)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from events.parsers import ParseContext, ParsedEvent, RawRecord, parser_for


def parsed(line: str) -> dict:
    [result] = parser_for("json")([RawRecord(1, line)], ParseContext(received_at=timezone.now()))
    assert isinstance(result, ParsedEvent), result
    return result.fields


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ('{"source": "fw1"}', {"source": "fw1"}),
        ('{"json": null, "source": "fw1"}', {"json": None, "source": "fw1"}),
        ('{"source": "fw1", "json": "text"}', {"json": "text", "source": "fw1"}),
        ('{"json": {"a": 1, "source": "own"}, "source": "fw1"}', {"a": 1, "source": "own"}),
        ('{"json": null, "source": null}', {"json": None, "source": None}),
    ],
)
def test_non_ecs_values_under_ecs_names_are_kept_under_json(line: str, kept: dict) -> None:
    assert parsed(line)["json"] == kept
