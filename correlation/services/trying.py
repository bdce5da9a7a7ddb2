"""Trying a detection rule on one pasted event, without saving anything (the rule
editor's Test button and ``POST /api/v1/rules/test/``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from sigma.rule import SigmaRule

from ..engine.ruleset import compile_variants, index_key, product_of
from ..sigma.documents import RuleInvalid, parse_documents
from ..sigma.logsources import PRODUCT_FIELD, Variant
from ..sigma.values import CompileError, EventView


class EventTooLarge(ValueError):
    """The pasted event is larger than RULE_TEST_MAX_EVENT_BYTES."""


@dataclass
class TryResult:
    matched: bool  # the engine would raise on this event
    logsource_fits: bool  # the event is one the rule's logsource applies to
    detection_matches: bool  # the detection matches, logsource aside

    def as_dict(self) -> dict[str, bool]:
        return {
            "matched": self.matched,
            "logsource_fits": self.logsource_fits,
            "detection_matches": self.detection_matches,
        }


def event_size(event: dict[str, Any], raw: str) -> int:
    """Bytes of the event's JSON and raw text together (what the matcher may read)."""
    text = json.dumps(event, ensure_ascii=False) + raw
    return len(text.encode("utf-8", "surrogatepass"))


def rule_try(*, definition: str, event: dict[str, Any], raw: str = "") -> TryResult:
    """Raises RuleInvalid (with lines) when the definition does not validate, and
    EventTooLarge for an event past RULE_TEST_MAX_EVENT_BYTES: the work is values of the
    rule (bounded by RULE_MAX_VALUES) times bytes of the event."""
    size, most = event_size(event, raw), settings.RULE_TEST_MAX_EVENT_BYTES
    if size > most:
        raise EventTooLarge(
            f"the event is {size:,} bytes, more than RULE_TEST_MAX_EVENT_BYTES ({most:,})"
        )
    document = parse_documents(definition)[0]
    if not isinstance(document.sigma, SigmaRule):  # a detection document made one
        raise RuleInvalid([document.problem("only detection rules test on one event")])
    try:
        variants = compile_variants(document.sigma)
    except CompileError as exc:
        raise RuleInvalid([document.problem(str(exc), "detection")]) from None
    view = EventView(event, raw)
    fits = [variant for variant, _ in variants if _fits(variant, view)]
    return TryResult(
        matched=any(predicate(view) for variant, predicate in variants if variant in fits),
        logsource_fits=bool(fits),
        detection_matches=any(predicate(view) for _, predicate in variants),
    )


def _fits(variant: Variant, view: EventView) -> bool:
    for name, values in variant.where:
        actual = product_of(view) if name == PRODUCT_FIELD else index_key(view.lookup(name))
        if actual not in {index_key(v) for v in values}:
            return False
    return True
