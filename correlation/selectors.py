"""Reading rules: for people (everyone who may view rules sees them all: detection content
is shared across teams) and for the engine (the active set and what it depends on)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import CorrelationRule, RuleFilter


def rules_visible_to(user: Any) -> QuerySet[CorrelationRule]:
    return CorrelationRule.objects.select_related("team", "stats")


def rule_by_reference(reference: str) -> CorrelationRule | None:
    """A rule by its id, its Sigma id or its Sigma name."""
    import uuid

    rules = CorrelationRule.objects.all()
    try:
        value = uuid.UUID(str(reference))
    except ValueError:
        return rules.filter(sigma_name=reference).first() or rules.filter(name=reference).first()
    return rules.filter(pk=value).first() or rules.filter(sigma_id=value).first()


def engine_rule_rows() -> list[CorrelationRule]:
    """Active rules, plus the rules active correlations count (even inactive ones: a
    correlation needs its inputs evaluated)."""
    rows = {rule.pk: rule for rule in CorrelationRule.objects.filter(is_active=True)}
    wanted = set(
        CorrelationRule.uses.through.objects.filter(
            from_correlationrule__in=list(rows)
        ).values_list("to_correlationrule", flat=True)
    )
    depth = 0
    while wanted - set(rows) and depth < 8:  # chains of correlations
        extra = CorrelationRule.objects.filter(pk__in=wanted - set(rows))
        rows.update({rule.pk: rule for rule in extra})
        wanted |= set(
            CorrelationRule.uses.through.objects.filter(
                from_correlationrule__in=list(rows)
            ).values_list("to_correlationrule", flat=True)
        )
        depth += 1
    return list(rows.values())


def engine_filter_rows() -> list[RuleFilter]:
    filters = list(RuleFilter.objects.filter(is_active=True).prefetch_related("rules"))
    for row in filters:
        row.rule_ids = [rule.pk for rule in row.rules.all()]  # type: ignore[attr-defined]
    return filters
