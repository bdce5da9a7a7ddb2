"""The active rule set, compiled, indexed and cached per worker process.

Every change to rules or filters bumps a generation counter in Redis (on commit). A worker
checks the counter at most once a second and recompiles when it moved, so an edit made in
the UI reaches every worker within seconds; between checks it costs nothing.

The index: each rule variant (logsource mapping) requires exact values of a few fields
(``Channel``+``EventID``, ``event.dataset``...). Rules are filed under those values, and an
event only meets the rules filed under its own values - a Sysmon process-creation event
never reaches a CloudTrail rule. Within the rules an event meets, a prefilter
(``sigma.prefilter``) picks out those that could match it, from one look at each field
they test; only their predicates run.
"""

from __future__ import annotations

import gc
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sigma.correlations import SigmaCorrelationRule, SigmaExtendedCorrelationCondition
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

from socapp.kv import kv

from ..selectors import engine_filter_rows, engine_rule_rows
from ..sigma.documents import RuleInvalid, parse_documents
from ..sigma.logsources import PRODUCT_FIELD, Variant, resolve
from ..sigma.matcher import compile_detections, compile_rule, detection_fields
from ..sigma.prefilter import Need, Prefilter, detections_need, positions
from ..sigma.values import MISSING, CompileError, EventView, Predicate
from .spec import CorrelationSpec

logger = logging.getLogger(__name__)

GENERATION_KEY = "socapp:rules:generation"
CHECK_INTERVAL = 1.0  # seconds between generation checks in a worker


@dataclass
class CompiledRule:
    id: str
    sigma_id: str | None
    name: str
    title: str
    level: str
    rule_type: str
    team_id: Any
    emits: bool  # its own hits raise alerts
    suppression_mode: str
    suppression_window: int
    suppress_by: list[str]
    techniques: list[str]
    description: str
    variants: list[tuple[Variant, Predicate]] = field(default_factory=list)
    needs: list[Need | None] = field(default_factory=list)  # each variant's (prefilter)
    exceptions: list[Predicate] = field(default_factory=list)
    correlation: CorrelationSpec | None = None
    parents: list[str] = field(default_factory=list)  # correlation rules that use this one
    # a correlation's Sigma ``generate``: whether the rules it counts raise alerts too
    generate_children: bool = True
    tests_parent_process: bool = False  # its detection tests the parent process
    # ``socapp: {ioc_match: true}``: one alert per indicator the event carries
    # (threat.enrichments), its severity from the indicator's score (engine.indicators)
    ioc_match: bool = False

    def caveats(self, view: EventView) -> list[str]:
        """What an analyst should know about this rule on this event: conditions it could
        not check because the event lacks what they test."""
        if self.tests_parent_process and all(
            view.lookup(name) in (MISSING, None, "") for name in PARENT_PROCESS_FIELDS
        ):
            return [PARENT_UNKNOWN]
        return []

    def excepted(self, view: EventView) -> bool:
        return any(predicate(view) for predicate in self.exceptions)


# Where events name the process that started the one they describe (Sysmon 1, Security
# 4688 on Windows 10 and later, ECS); 4688 of older Windows has none of these.
PARENT_PROCESS_FIELDS = ("ParentImage", "ParentProcessName", "process.parent.executable")
PARENT_UNKNOWN = (
    "parent process unknown: the event does not record its parent process, so the "
    "rule's conditions on the parent (including its exclusions) could not be checked"
)


def tests_parent_process(fields: set[str]) -> bool:
    return any(f.startswith(("Parent", "process.parent.")) for f in fields)


SIGNATURE_CACHE = 10_000  # distinct kinds of event remembered per rule set


def index_key(value: Any) -> str | None:
    if type(value) is str:  # the common case first: this runs for every event
        return value.lower()
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
        if value is None:
            return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).lower()


def product_of(view: EventView) -> str | None:
    event = view.doc.get("event")
    if isinstance(event, dict):
        module = event.get("module")
        if isinstance(module, str) and module:
            return module.lower()
        dataset = event.get("dataset")
        if isinstance(dataset, str) and dataset:
            root = dataset.split(".", 1)[0].lower()
            if root == "windows" or "Channel" not in view.doc:
                return root
    if "Channel" in view.doc:
        return "windows"
    return None


# A rule that may match an event, with the predicate of one of its variants.
Candidate = tuple[CompiledRule, Predicate]
# ... and what that predicate needs of an event to hold (None: nothing known)
Entry = tuple[CompiledRule, Predicate, Need | None]


class CandidateGroup:
    """The (rule, predicate) pairs of one kind of event (those its logsource allows), with
    the prefilter that narrows them down to the ones that could match a given event."""

    def __init__(self, entries: list[Entry]) -> None:
        self.pairs: list[Candidate] = [(rule, predicate) for rule, predicate, _ in entries]
        self.prefilter = Prefilter([need for _, _, need in entries])

    def select(self, view: EventView) -> list[Candidate]:
        """The pairs whose predicates could hold on ``view``, in the group's order."""
        pairs = self.pairs
        return [pairs[position] for position in positions(self.prefilter.select(view))]


class RuleSet:
    def __init__(self, rules: list[CompiledRule], generation: int) -> None:
        self.generation = generation
        self.rules = {rule.id: rule for rule in rules}
        self.everywhere: list[Entry] = []
        self.index: dict[tuple[str, ...], dict[tuple[str | None, ...], list[Entry]]] = {}
        for rule in rules:
            if rule.correlation is not None:
                continue
            needs = rule.needs or [None] * len(rule.variants)
            for (variant, predicate), need in zip(rule.variants, needs, strict=True):
                entry = (rule, predicate, need)
                if not variant.where:
                    self.everywhere.append(entry)
                    continue
                fields = variant.where_fields
                table = self.index.setdefault(fields, {})
                for combo in itertools.product(*(values for _, values in variant.where)):
                    key = tuple(index_key(v) for v in combo)
                    table.setdefault(key, []).append(entry)
        # Every field some table routes on, looked up once per event; events that agree on
        # all of them (the same channel, event id, dataset...) share one candidate list.
        self.index_fields = tuple(sorted({name for fields in self.index for name in fields}))
        self._positions = [
            (tuple(self.index_fields.index(name) for name in fields), table)
            for fields, table in self.index.items()
        ]
        self._by_signature: dict[tuple[str | None, ...], CandidateGroup] = {}
        # kinds of event that meet the same rules share one group (and its automata)
        self._groups: dict[tuple[int, ...], CandidateGroup] = {}

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, view: EventView) -> CandidateGroup:
        """The (rule, predicate) pairs whose logsource fits this event."""
        signature = tuple(
            [
                product_of(view) if name == PRODUCT_FIELD else index_key(view.lookup(name))
                for name in self.index_fields
            ]
        )
        found = self._by_signature.get(signature)
        if found is None:
            entries = list(self.everywhere)
            for places, table in self._positions:
                more = table.get(tuple(signature[i] for i in places))
                if more:
                    entries.extend(more)
            found = self._group(entries)
            if len(self._by_signature) < SIGNATURE_CACHE:
                self._by_signature[signature] = found
        return found

    def _group(self, entries: list[Entry]) -> CandidateGroup:
        key = tuple(id(predicate) for _, predicate, _ in entries)
        group = self._groups.get(key)
        if group is None:
            group = CandidateGroup(entries)
            if len(self._groups) < SIGNATURE_CACHE:
                self._groups[key] = group
        return group

    def correlations_using(self, rule_id: str) -> list[CompiledRule]:
        rule = self.rules.get(rule_id)
        return [self.rules[p] for p in rule.parents if p in self.rules] if rule else []


# ---- building ------------------------------------------------------------------------


def compile_variants(sigma: SigmaRule) -> list[tuple[Variant, Predicate]]:
    """One predicate per logsource variant; a rule without a mapping matches everywhere."""
    variants = resolve(sigma.logsource.to_dict() if sigma.logsource else {})
    if not variants:
        return [(Variant(()), compile_rule(sigma))]
    return [(variant, compile_rule(sigma, variant.map_field)) for variant in variants]


def variant_needs(sigma: SigmaRule) -> list[Need | None]:
    """What each of ``compile_variants``' predicates needs of an event (the prefilter)."""
    variants = resolve(sigma.logsource.to_dict() if sigma.logsource else {})
    if not variants:
        return [detections_need(sigma.detection)]
    return [detections_need(sigma.detection, variant.map_field) for variant in variants]


def compile_filter(sigma: SigmaFilter) -> Predicate:
    return compile_detections(sigma.filter)


def max_jitter_of(data: dict[str, Any]) -> float | None:
    """The ``socapp: {max_jitter: ...}`` of a correlation rule (validated on save)."""
    block = data.get("socapp")
    value = block.get("max_jitter") if isinstance(block, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def ioc_match_of(data: dict[str, Any]) -> bool:
    """The ``socapp: {ioc_match: true}`` of an IOC-match rule (validated on save)."""
    block = data.get("socapp")
    return isinstance(block, dict) and block.get("ioc_match") is True


def correlation_spec(
    rule_id: str, sigma: SigmaCorrelationRule, refs: dict[str, str]
) -> CorrelationSpec:
    """The engine's form of a correlation rule; ``refs`` maps Sigma ids/names to rule ids.
    Raises CompileError naming a reference that is not there."""

    def ref(name: str) -> str:
        if name not in refs:
            raise CompileError(f"references rule '{name}', which does not exist")
        return refs[name]

    names = [r.reference for r in sigma.rules or []]
    expression = None
    if isinstance(sigma.condition, SigmaExtendedCorrelationCondition):
        expression = sigma.condition.parsed
        names = names or sigma.condition.get_referenced_rules()
    condition: dict[str, float] = {}
    value_fields: list[str] = []
    percentile = None
    raw_condition = getattr(sigma, "_raw_condition", None)
    if raw_condition is None and sigma.condition is not None and expression is None:
        raw_condition = sigma.condition.to_dict()
    if isinstance(raw_condition, dict):
        for op in ("gt", "gte", "lt", "lte", "eq", "neq"):
            if op in raw_condition:
                condition[op] = float(raw_condition[op])
        fieldref = raw_condition.get("field")
        value_fields = [fieldref] if isinstance(fieldref, str) else list(fieldref or [])
        percentile = raw_condition.get("percentile")
    kind = str(getattr(sigma.type, "name", sigma.type)).lower()
    if kind in ("temporal", "temporal_ordered") and not condition and expression is None:
        condition = {"gte": float(len(names))}
    aliases = {
        alias.alias: {ref(r.reference): name for r, name in alias.mapping.items()}
        for alias in sigma.aliases
    }
    return CorrelationSpec(
        rule_id=rule_id,
        kind=kind,
        rules=[ref(n) for n in names],
        group_by=list(sigma.group_by or []),
        timespan=int(sigma.timespan.seconds),
        condition=condition,
        value_fields=value_fields,
        percentile=int(percentile) if percentile is not None else None,
        aliases=aliases,
        expression=expression,
        expression_names={n: ref(n) for n in names} if expression is not None else {},
    )


def build(rows: list[Any], filters: list[Any], generation: int) -> RuleSet:
    """Compile rule rows (CorrelationRule) and filter rows (RuleFilter) into a RuleSet.
    A rule that fails to compile is left out and logged; validation on save keeps this rare."""
    refs: dict[str, str] = {}
    for row in rows:
        if row.sigma_id:
            refs[str(row.sigma_id)] = str(row.pk)
        if row.sigma_name:
            refs[row.sigma_name] = str(row.pk)
    compiled: list[CompiledRule] = []
    for row in rows:
        try:
            compiled.append(compile_row(row, refs))
        except (RuleInvalid, CompileError) as exc:
            logger.warning("rule %s (%s) left out of the rule set: %s", row.name, row.pk, exc)
    by_id = {rule.id: rule for rule in compiled}
    for rule in compiled:
        spec = rule.correlation
        if spec is None:
            continue
        for child in spec.rules:
            if child in by_id:
                by_id[child].parents.append(rule.id)
                # Sigma's ``generate`` is about the referred *detection* rules; a counted
                # correlation (brute force, counted again by "brute force then success")
                # keeps raising its own alerts unless its own ``generate`` is off.
                if not rule.generate_children and by_id[child].correlation is None:
                    by_id[child].emits = False
    for row in filters:
        try:
            sigma = parse_documents(row.definition)[0].sigma
            if not isinstance(sigma, SigmaFilter):
                raise CompileError("not a Sigma filter")
            predicate = compile_filter(sigma)
        except (RuleInvalid, CompileError) as exc:
            logger.warning("filter %s left out: %s", row.name, exc)
            continue
        for rule_id in row.rule_ids:
            if str(rule_id) in by_id:
                by_id[str(rule_id)].exceptions.append(predicate)
    return RuleSet(compiled, generation)


def compile_row(row: Any, refs: dict[str, str]) -> CompiledRule:
    document = parse_documents(row.definition)[0]
    sigma = document.sigma
    rule = CompiledRule(
        id=str(row.pk),
        sigma_id=str(row.sigma_id) if row.sigma_id else None,
        name=row.name,
        title=document.title or row.name,
        level=row.level,
        rule_type=row.rule_type,
        team_id=row.team_id,
        emits=row.generate,
        suppression_mode=row.suppression_mode,
        suppression_window=row.suppression_window,
        suppress_by=list(row.suppress_by or []),
        techniques=list(row.techniques or []),
        description=row.description,
    )
    if isinstance(sigma, SigmaCorrelationRule):
        raw = (document.data.get("correlation") or {}).get("condition")
        # pySigma keeps no raw condition; correlation_spec reads it from its object.
        sigma._raw_condition = raw if isinstance(raw, dict) else None  # type: ignore[attr-defined]
        rule.correlation = correlation_spec(rule.id, sigma, refs)
        rule.correlation.max_jitter = max_jitter_of(document.data)
        rule.generate_children = bool(document.data.get("generate", False))
    elif isinstance(sigma, SigmaRule):
        rule.variants = compile_variants(sigma)
        rule.needs = variant_needs(sigma)
        rule.tests_parent_process = tests_parent_process(detection_fields(sigma))
        rule.ioc_match = ioc_match_of(document.data)
    else:
        raise CompileError("a filter is not a rule")
    return rule


# ---- the per-process cache ------------------------------------------------------------


class _Cache:
    ruleset: RuleSet | None = None
    checked_at: float = 0.0


_cache = _Cache()


def current_generation() -> int:
    return int(kv().get(GENERATION_KEY) or 0)


def bump_generation() -> int:
    """Tell every worker the rule set changed (call on commit of a rule change)."""
    return int(kv().incr(GENERATION_KEY))


def active_ruleset(*, force: bool = False) -> RuleSet:
    """This process's compiled rule set, rebuilt when the generation moved."""
    now = time.monotonic()
    cached = _cache.ruleset
    if cached is not None and not force and now - _cache.checked_at < CHECK_INTERVAL:
        return cached
    generation = current_generation()
    _cache.checked_at = now
    if cached is not None and not force and cached.generation == generation:
        return cached
    gc.unfreeze()  # the rule set being replaced may be collected
    _cache.ruleset = build(engine_rule_rows(), engine_filter_rows(), generation)
    # The compiled rules live until the next change: keeping them (and what the process
    # holds by now) out of the collector's generations spares every full collection
    # during a batch a walk through hundreds of thousands of objects.
    gc.collect()
    gc.freeze()
    logger.info("rule set generation %s: %d rules", generation, len(_cache.ruleset))
    return _cache.ruleset


def forget() -> None:
    """Drop this process's compiled rule set (tests; a rolled-back rule change)."""
    _cache.ruleset = None
    _cache.checked_at = 0.0
