"""Reading rules: for people (everyone who may view rules sees them all: detection content
is shared across teams) and for the engine (the active set and what it depends on)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import F, Q, QuerySet

from socapp.users import User

from .models import CorrelationRule, RuleFilter, RuleQuarantine


def rules_visible_to(user: User) -> QuerySet[CorrelationRule]:
    return CorrelationRule.objects.select_related("team", "stats")


LIST_ORDERS = {
    "name": "name",
    "hits": "-stats__hits",
    "alerts": "-stats__alerts",
    "errors": "-stats__errors",
    "time": "-stats__time_spent",
    "fired": "-stats__last_fired_at",
}


def rules_for_list(user: User, params: Any) -> tuple[QuerySet[CorrelationRule], dict[str, str]]:
    """The rule list page: search (name, Sigma name, technique), state, type, order."""
    filters = {
        "q": str(params.get("q") or "").strip(),
        "state": str(params.get("state") or ""),
        "type": str(params.get("type") or ""),
        "order": str(params.get("order") or "name"),
    }
    rules = rules_visible_to(user)
    if filters["q"]:
        q = filters["q"]
        rules = rules.filter(
            Q(name__icontains=q) | Q(sigma_name__icontains=q) | Q(techniques__contains=[q.upper()])
        )
    if filters["state"] in ("active", "inactive"):
        rules = rules.filter(is_active=filters["state"] == "active")
    if filters["type"] == "detection":
        rules = rules.filter(rule_type="detection")
    elif filters["type"] == "correlation":
        rules = rules.exclude(rule_type="detection")
    order = LIST_ORDERS.get(filters["order"], "name")
    if order.startswith("-stats__"):
        rules = rules.order_by(F(order[1:]).desc(nulls_last=True), "name")
    else:
        rules = rules.order_by(order)
    return rules, filters


def rule_inputs_and_users(
    rule: CorrelationRule,
) -> tuple[list[CorrelationRule], list[CorrelationRule]]:
    """The rules this one counts, and the correlations that count it."""
    return list(rule.uses.order_by("name")), list(rule.used_by.order_by("name"))


def rule_by_reference(reference: str) -> CorrelationRule | None:
    """A rule by its id, its Sigma id or its Sigma name."""
    import uuid

    rules = CorrelationRule.objects.all()
    try:
        value = uuid.UUID(str(reference))
    except ValueError:
        return rules.filter(sigma_name=reference).first() or rules.filter(name=reference).first()
    return rules.filter(pk=value).first() or rules.filter(sigma_id=value).first()


def rules_tags(rule_ids: Iterable[Any]) -> dict[str, list[str]]:
    """Each rule's Sigma tags by rule id text (case work reads a batch's in one query)."""
    wanted = {r for r in rule_ids if r}
    if not wanted:
        return {}
    rows = CorrelationRule.objects.filter(pk__in=wanted).values_list("pk", "tags")
    return {str(pk): list(tags) if isinstance(tags, list) else [] for pk, tags in rows}


def engine_rule_rows() -> list[CorrelationRule]:
    """Active rules, plus the rules active correlations count (even inactive ones: a
    correlation needs its inputs evaluated)."""
    return _with_inputs({rule.pk: rule for rule in CorrelationRule.objects.filter(is_active=True)})


def rule_with_inputs(rule: CorrelationRule) -> list[CorrelationRule]:
    """A rule and every rule it counts, through chains (what a backtest evaluates)."""
    return _with_inputs({rule.pk: rule})


def _with_inputs(rows: dict[Any, CorrelationRule]) -> list[CorrelationRule]:
    wanted = _inputs_of(rows)
    depth = 0
    while wanted - set(rows) and depth < 8:  # chains of correlations
        extra = CorrelationRule.objects.filter(pk__in=wanted - set(rows))
        rows.update({rule.pk: rule for rule in extra})
        wanted |= _inputs_of(rows)
        depth += 1
    return list(rows.values())


def _inputs_of(rows: dict[Any, CorrelationRule]) -> set[Any]:
    return set(
        CorrelationRule.uses.through.objects.filter(
            from_correlationrule__in=list(rows)
        ).values_list("to_correlationrule", flat=True)
    )


def engine_filter_rows(rule_ids: list[Any] | None = None) -> list[RuleFilter]:
    """Active exceptions (those attached to ``rule_ids`` when given)."""
    filters = RuleFilter.objects.filter(is_active=True)
    if rule_ids is not None:
        filters = filters.filter(rules__in=rule_ids).distinct()
    rows = list(filters.prefetch_related("rules"))
    for row in rows:
        # Carried on the row for the rule set, which reads no relations.
        row.rule_ids = [rule.pk for rule in row.rules.all()]  # type: ignore[attr-defined]
    return rows


QUARANTINE_SHOWN = 20


def rule_quarantine_for(user: User, rule: CorrelationRule) -> list[RuleQuarantine]:
    """The latest events set aside because evaluating ``rule`` on them failed. Their ids
    and errors come from any team's events, so only those who manage rules see them
    (everyone sees how many, in the rule's statistics)."""
    if not user.has_perm("correlation.change_correlationrule"):
        return []
    return list(rule.quarantined_events.order_by("-created_at")[:QUARANTINE_SHOWN])
