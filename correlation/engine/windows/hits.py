"""What a hit is to a rule's windows: its group, the value it counts, and what feeding it
gives back (firings, and hits folded into an earlier firing)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from .. import runs
from ..runs import Member
from ..spec import CorrelationSpec
from .store import Firing, prefix


@dataclass
class Fold:
    """A hit inside a window that already fired: it belongs to that firing's alert.
    ``firing`` may carry no members; ``full()`` reads the stored firing when needed."""

    firing: Firing
    member: Member
    loader: Any = None

    def full(self) -> Firing:
        return self.loader() if self.loader is not None else self.firing


@dataclass
class FeedResult:
    firings: list[Firing] = field(default_factory=list)
    folds: list[Fold] = field(default_factory=list)
    late: int = 0
    skipped: int = 0  # hits without a group-by (or value) field


def group_key_of(values: dict[str, Any]) -> str:
    return ", ".join(f"{name}={values[name]}" for name in values)


def key_base(rule_id: str, group_key: str) -> str:
    digest = hashlib.sha1(group_key.encode(), usedforsecurity=False).hexdigest()[:20]
    return f"{prefix()}:{rule_id}:{digest}"


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if len(value) == 1 else (tuple(value) if value else None)
    return value


def group_values(spec: CorrelationSpec, rule_id: str, lookup: Any) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for group in spec.group_by:
        value = _scalar(lookup(spec.group_field(group, rule_id)))
        if value is None or value == "":
            return None  # a hit without the group-by field is not correlated
        values[group] = value
    return values


def member_value(spec: CorrelationSpec, rule_id: str, lookup: Any) -> tuple[bool, Any]:
    if spec.kind in ("event_count", "temporal", "temporal_ordered"):
        return True, None
    raw = [_scalar(lookup(spec.group_field(name, rule_id))) for name in spec.value_fields]
    if any(v is None for v in raw):
        return False, None
    if spec.kind == "value_count":
        return True, runs.bounded_value(raw[0] if len(raw) == 1 else raw)
    try:
        number = float(raw[0])
    except (TypeError, ValueError, OverflowError):
        return False, None
    return (True, number) if math.isfinite(number) else (False, None)
