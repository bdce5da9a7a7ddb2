"""Saving rules: validation (the rule must parse, compile and find the rules it
references), versions, audit, and telling the workers."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from sigma.correlations import SigmaCorrelationRule
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

from socapp.audit import audit_record
from socapp.users import User

from ..choices import RuleStatus, RuleType, SuppressionMode
from ..engine.ruleset import bump_generation, compile_variants, correlation_spec
from ..models import CorrelationRule, RuleFilter, RuleVersion
from ..sigma.documents import RuleInvalid, RuleProblem, SigmaDocument, parse_documents
from ..sigma.values import CompileError

_TECHNIQUE = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)
SKIPPED_STATUSES = (RuleStatus.DEPRECATED, RuleStatus.UNSUPPORTED)


class RuleUnsupported(ValueError):
    """A valid Sigma rule this engine will not run (the reason says why)."""


@dataclass
class SaveResult:
    rule: CorrelationRule | RuleFilter
    outcome: str  # "imported" (new), "updated" (new version), "unchanged"


def techniques_of(tags: list[str]) -> list[str]:
    return sorted({m.group(1).upper() for t in tags if (m := _TECHNIQUE.match(str(t)))})


def referenced_names(doc: SigmaDocument) -> list[str]:
    """The Sigma ids and names a correlation document refers to (its ``rules`` and those
    its condition names); none for other documents."""
    sigma = doc.sigma
    names = [str(r.reference) for r in getattr(sigma, "rules", None) or []]
    referenced = getattr(getattr(sigma, "condition", None), "get_referenced_rules", None)
    if referenced is not None:
        names += [str(name) for name in referenced()]
    return names


def _references(doc: SigmaDocument, pending: dict[str, str] | None) -> dict[str, str]:
    """Sigma ids and names -> rule ids, for the references a correlation makes."""
    refs = dict(pending or {})
    for name in referenced_names(doc):
        if name in refs:
            continue
        found = _lookup(name)
        if found is not None:
            refs[name] = str(found.pk)
    return refs


def _lookup(name: str) -> CorrelationRule | None:
    rules = CorrelationRule.objects.all()
    try:
        return rules.filter(sigma_id=uuid.UUID(name)).first()
    except ValueError:
        return rules.filter(sigma_name=name).first()


def check_document(doc: SigmaDocument, pending: dict[str, str] | None = None) -> list[str]:
    """Compile ``doc`` as a worker would; raise RuleInvalid at the offending line, or
    RuleUnsupported. Returns the rule ids a correlation uses."""
    try:
        if isinstance(doc.sigma, SigmaRule):
            compile_variants(doc.sigma)
            return []
        if isinstance(doc.sigma, SigmaCorrelationRule):
            # pySigma keeps no raw condition; correlation_spec reads it from its object.
            doc.sigma._raw_condition = (doc.data.get("correlation") or {}).get("condition")  # type: ignore[attr-defined]
            spec = correlation_spec("new", doc.sigma, _references(doc, pending))
            return spec.rules
    except CompileError as exc:
        message = str(exc)
        if "references rule" in message:
            raise RuleInvalid([doc.problem(message, "correlation", "rules")]) from None
        if "placeholder" in message:
            raise RuleUnsupported(message) from None
        raise RuleInvalid([doc.problem(message, "detection")]) from None
    return []


def _rule_fields(doc: SigmaDocument) -> dict[str, Any]:
    data = doc.data
    fields: dict[str, Any] = {
        "description": str(data.get("description") or ""),
        "definition": doc.text,
        "level": str(data.get("level") or "medium").lower(),
        "status": str(data.get("status") or RuleStatus.EXPERIMENTAL).lower(),
        "sigma_name": str(data.get("name") or ""),
        "logsource": data.get("logsource") or {},
        "tags": [str(t) for t in data.get("tags") or []],
        "techniques": techniques_of(data.get("tags") or []),
        "rule_type": RuleType.DETECTION,
        "time_window": 0,
        "threshold": 1,
    }
    correlation = data.get("correlation")
    if isinstance(correlation, dict):
        fields["rule_type"] = str(correlation.get("type") or "event_count")
        assert isinstance(doc.sigma, SigmaCorrelationRule)  # a correlation section made one
        fields["time_window"] = int(doc.sigma.timespan.seconds)
        condition = correlation.get("condition")
        if isinstance(condition, dict):
            numbers = [v for k, v in condition.items() if k in ("gt", "gte", "eq", "lt", "lte")]
            fields["threshold"] = max(1, int(numbers[0])) if numbers else 1
        fields["logsource"] = {}
    fields.update(engine_settings_of(doc))
    return fields


def engine_settings_of(doc: SigmaDocument) -> dict[str, Any]:
    """The rule's own ``socapp:`` block: the engine settings Sigma has no word for
    (suppression), so a rule file carries them and stays the single source of truth."""
    block = doc.data.get("socapp")
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise RuleInvalid([doc.problem("'socapp' must be a mapping of engine settings", "socapp")])
    unknown = sorted(
        set(block) - {"suppression", "suppression_window", "suppress_by", "max_jitter", "ioc_match"}
    )
    if unknown:
        raise RuleInvalid(
            [doc.problem(f"unknown socapp setting '{unknown[0]}'", "socapp", unknown[0])]
        )
    settings: dict[str, Any] = {}
    if "suppression" in block:
        mode = str(block["suppression"])
        if mode not in SuppressionMode.values:
            choices = ", ".join(SuppressionMode.values)
            raise RuleInvalid(
                [doc.problem(f"suppression must be one of {choices}", "socapp", "suppression")]
            )
        settings["suppression_mode"] = mode
    if "suppression_window" in block:
        window = block["suppression_window"]
        if not isinstance(window, int) or isinstance(window, bool) or window < 0:
            raise RuleInvalid(
                [
                    doc.problem(
                        "suppression_window must be a number of seconds",
                        "socapp",
                        "suppression_window",
                    )
                ]
            )
        settings["suppression_window"] = window
    if "suppress_by" in block:
        names = block["suppress_by"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise RuleInvalid(
                [doc.problem("suppress_by must be a list of field names", "socapp", "suppress_by")]
            )
        settings["suppress_by"] = names
    if "max_jitter" in block:
        _check_max_jitter(doc, block["max_jitter"])
    if "ioc_match" in block and not isinstance(block["ioc_match"], bool):
        raise RuleInvalid([doc.problem("ioc_match must be true or false", "socapp", "ioc_match")])
    return settings


def _check_max_jitter(doc: SigmaDocument, value: Any) -> None:
    """``max_jitter`` (read by the engine from the definition): event_count rules only."""
    correlation = doc.data.get("correlation")
    if not isinstance(correlation, dict) or correlation.get("type") != "event_count":
        raise RuleInvalid(
            [doc.problem("max_jitter applies to event_count correlations", "socapp", "max_jitter")]
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise RuleInvalid(
            [doc.problem("max_jitter must be a number above 0, at most 1", "socapp", "max_jitter")]
        )


def _unique_name(title: str, sigma_id: str | None, current: CorrelationRule | None) -> str:
    name = (title or "Untitled rule")[:230]
    clash = CorrelationRule.objects.filter(name=name)
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    if clash.exists():
        name = f"{name} ({(sigma_id or uuid.uuid4().hex)[:8]})"
    return name


def save_document(
    doc: SigmaDocument,
    *,
    actor: User | None,
    rule: CorrelationRule | None = None,
    is_active: bool | None = None,
    team: Any = None,
    origin: str = "",
    pending: dict[str, str] | None = None,
) -> SaveResult:
    """Create or update the rule (or filter) ``doc`` describes. A rule is found by the
    given ``rule``, else by its Sigma id; a changed definition makes a new version."""
    if doc.kind == "filter":
        return _save_filter(doc, actor=actor, pending=pending)
    uses = check_document(doc, pending)
    sigma_id = doc.sigma_id
    if rule is None and sigma_id:
        rule = CorrelationRule.objects.filter(sigma_id=sigma_id).first()
    fields = _rule_fields(doc)
    with transaction.atomic():
        if rule is None:
            rule = CorrelationRule(
                sigma_id=sigma_id,
                created_by=actor,
                is_active=True if is_active is None else is_active,
                team=team,
                origin=origin,
                name=_unique_name(doc.title, sigma_id, None),
                **fields,
            )
            rule.save()
            outcome, action = "imported", "rule.create"
        elif rule.definition == doc.text and (is_active is None or rule.is_active == is_active):
            return SaveResult(rule, "unchanged")
        else:
            changed_text = rule.definition != doc.text
            for name, value in fields.items():
                setattr(rule, name, value)
            rule.sigma_id = sigma_id or rule.sigma_id
            rule.name = _unique_name(doc.title, sigma_id, rule)
            if is_active is not None:
                rule.is_active = is_active
            if is_active or changed_text:
                rule.disabled_reason = ""  # turned on, or fixed, by a person
            if team is not None:
                rule.team = team
            if changed_text:
                rule.version += 1
            rule.save()
            outcome, action = "updated", "rule.update"
        if not RuleVersion.objects.filter(rule=rule, version=rule.version).exists():
            RuleVersion.objects.create(
                rule=rule, version=rule.version, definition=doc.text, created_by=actor
            )
        rule.uses.set(uses)  # type: ignore[arg-type]  # ids: the stubs know only int keys
        audit_record(
            actor=actor,
            action=action,
            target=rule,
            changes={"version": rule.version, "active": rule.is_active, "origin": origin},
        )
        transaction.on_commit(bump_generation)
    return SaveResult(rule, outcome)


def _save_filter(
    doc: SigmaDocument, *, actor: User | None, pending: dict[str, str] | None
) -> SaveResult:
    sigma = doc.sigma
    assert isinstance(sigma, SigmaFilter)  # the caller saves filter documents only here
    targets: list[str] = []
    refs = dict(pending or {})
    for reference in getattr(sigma.filter, "rules", None) or []:
        name = getattr(reference, "reference", reference)
        found = refs.get(name) or getattr(_lookup(name), "pk", None)
        if found is None:
            raise RuleInvalid(
                [
                    doc.problem(
                        f"filter names rule '{name}', which does not exist", "filter", "rules"
                    )
                ]
            )
        targets.append(str(found))
    with transaction.atomic():
        existing = (
            RuleFilter.objects.filter(sigma_id=doc.sigma_id).first() if doc.sigma_id else None
        )
        outcome = "updated" if existing else "imported"
        if existing is not None and existing.definition == doc.text:
            return SaveResult(existing, "unchanged")
        row = existing or RuleFilter(sigma_id=doc.sigma_id, created_by=actor)
        row.name = (doc.title or "Untitled filter")[:255]
        row.description = str(doc.data.get("description") or "")
        row.definition = doc.text
        row.save()
        row.rules.set(targets)  # type: ignore[arg-type]  # ids: the stubs know only int keys
        audit_record(
            actor=actor,
            action=f"rule_filter.{'update' if existing else 'create'}",
            target=row,
            changes={"rules": targets},
        )
        transaction.on_commit(bump_generation)
    return SaveResult(row, outcome)


def rule_save(
    *,
    actor: User | None,
    definition: str,
    rule: CorrelationRule | None = None,
    is_active: bool | None = None,
    team: Any = None,
    engine_settings: dict[str, Any] | None = None,
) -> CorrelationRule:
    """Create or edit one rule from its Sigma YAML (the API and the rule editor).
    ``engine_settings``: what Sigma has no word for (``generate``, the suppression ones)."""
    documents = parse_documents(definition)
    if len(documents) != 1:
        raise RuleInvalid(
            [
                RuleProblem(
                    documents[1].first_line, "one rule per definition (import files with several)"
                )
            ]
        )
    doc = documents[0]
    if doc.kind == "filter":
        raise RuleInvalid([doc.problem("this is a filter: save it as an exception", "filter")])
    if rule is not None and doc.sigma_id and rule.sigma_id and str(rule.sigma_id) != doc.sigma_id:
        other = CorrelationRule.objects.filter(sigma_id=doc.sigma_id).exclude(pk=rule.pk)
        if other.exists():
            raise RuleInvalid([doc.problem("another rule already has this id", "id")])
    with transaction.atomic():
        try:
            result = save_document(doc, actor=actor, rule=rule, is_active=is_active, team=team)
        except RuleUnsupported as exc:
            raise RuleInvalid([doc.problem(str(exc), "detection")]) from None
        saved = result.rule
        assert isinstance(saved, CorrelationRule)  # filters were turned away above
        changed = {k: v for k, v in (engine_settings or {}).items() if getattr(saved, k) != v}
        if changed:
            for name, value in changed.items():
                setattr(saved, name, value)
            saved.save(update_fields=[*changed, "updated_at"])
            audit_record(actor=actor, action="rule.update", target=saved, changes=changed)
            transaction.on_commit(bump_generation)
    return saved


def rule_set_active(*, rule: CorrelationRule, actor: User, active: bool) -> CorrelationRule:
    if rule.is_active == active:
        return rule
    with transaction.atomic():
        rule.is_active = active
        rule.disabled_reason = ""  # a person decided now
        rule.save(update_fields=["is_active", "disabled_reason", "updated_at"])
        audit_record(
            actor=actor,
            action="rule.enable" if active else "rule.disable",
            target=rule,
            changes={"active": active},
        )
        transaction.on_commit(bump_generation)
    return rule
