"""Correlation rules and the correlations (rule firings) they produce."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .choices import RuleStatus, RuleType, SeverityName, SuppressionMode


class CorrelationRule(models.Model):
    """A rule: its full definition (Sigma YAML) plus the columns worth querying."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, unique=True)
    sigma_id = models.UUIDField(
        null=True, blank=True, unique=True, help_text="The Sigma rule's own id."
    )
    sigma_name = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="Sigma ``name``: how correlation rules and filters refer to this rule.",
    )
    logsource = models.JSONField(default=dict, blank=True, help_text="Sigma ``logsource``.")
    tags = models.JSONField(default=list, blank=True, help_text="Sigma ``tags``.")
    generate = models.BooleanField(
        default=True,
        help_text="Whether the rule's own hits raise alerts. A Sigma correlation with "
        "``generate: false`` (the default) turns this off for the rules it uses.",
    )
    suppression_mode = models.CharField(
        max_length=20, choices=SuppressionMode.choices, default=SuppressionMode.NONE
    )
    suppression_window = models.PositiveIntegerField(
        default=3600, help_text="Seconds, for the per-window mode."
    )
    suppress_by = models.JSONField(
        default=list,
        blank=True,
        help_text="Event fields whose values make the suppression key (a correlation's "
        "group-by when empty).",
    )
    origin = models.CharField(
        max_length=500, blank=True, help_text="Where the rule was imported from."
    )
    uses = models.ManyToManyField(
        "self",
        symmetrical=False,
        related_name="used_by",
        blank=True,
        help_text="The rules a correlation rule counts (its Sigma ``rules``).",
    )
    description = models.TextField(blank=True)
    definition = models.TextField(help_text="The rule as Sigma YAML.")
    rule_type = models.CharField(
        max_length=20, choices=RuleType.choices, default=RuleType.DETECTION
    )
    time_window = models.PositiveIntegerField(
        default=0, help_text="Seconds the rule looks back; 0 for single-event rules."
    )
    threshold = models.PositiveIntegerField(default=1)
    level = models.CharField(
        max_length=20,
        choices=SeverityName.choices,
        default=SeverityName.MEDIUM,
        help_text="Sigma level: the severity of the alerts it raises.",
    )
    status = models.CharField(
        max_length=20, choices=RuleStatus.choices, default=RuleStatus.EXPERIMENTAL
    )
    techniques = models.JSONField(
        default=list, blank=True, help_text="MITRE ATT&CK technique ids, e.g. T1110.001."
    )
    team = models.ForeignKey(
        "socapp.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rules",
        help_text="Owner of the alerts; empty means the source's team.",
    )
    is_active = models.BooleanField(default=True)
    disabled_reason = models.TextField(
        blank=True,
        help_text="Why the engine turned the rule off by itself (empty when a person did, "
        "or when it is active).",
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "correlation_rules"
        ordering = ["name"]
        permissions = [
            ("backtest_correlationrule", "Can backtest rules over stored events"),
        ]

    def __str__(self) -> str:
        return self.name


class RuleVersion(models.Model):
    """Every definition a rule has had: kept, queryable, never edited."""

    id = models.BigAutoField(primary_key=True)
    rule = models.ForeignKey(CorrelationRule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    definition = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "correlation_rule_versions"
        ordering = ["rule", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "version"], name="rule_version_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.version}"


class RuleFilter(models.Model):
    """An exception: a Sigma filter (``original AND NOT filter``) attached to rules."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, unique=True)
    sigma_id = models.UUIDField(null=True, blank=True, unique=True)
    description = models.TextField(blank=True)
    definition = models.TextField(help_text="The filter as Sigma YAML.")
    rules = models.ManyToManyField(CorrelationRule, related_name="filters", blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "correlation_rule_filters"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RuleStats(models.Model):
    """How a rule is doing in the engine: kept by the workers, shown on its health page."""

    rule = models.OneToOneField(
        CorrelationRule, on_delete=models.CASCADE, primary_key=True, related_name="stats"
    )
    evaluations = models.BigIntegerField(default=0, help_text="Events evaluated.")
    errors = models.BigIntegerField(default=0)
    time_spent = models.FloatField(default=0.0, help_text="Seconds spent evaluating.")
    hits = models.BigIntegerField(default=0)
    alerts = models.BigIntegerField(default=0)
    suppressed = models.BigIntegerField(default=0)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    quarantined = models.BigIntegerField(
        default=0, help_text="Events set aside because evaluating this rule on them failed."
    )
    budget_strikes = models.PositiveIntegerField(
        default=0,
        help_text="Consecutive over-budget batch parts in which this rule took the most time.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "correlation_rule_stats"
        verbose_name_plural = "rule stats"

    def __str__(self) -> str:
        return f"stats of {self.rule_id}"


class Correlation(models.Model):
    """One firing of a rule: the window it covered and the events in it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    rule = models.ForeignKey(CorrelationRule, on_delete=models.PROTECT, related_name="correlations")
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    event_count = models.PositiveIntegerField(default=0)
    confidence_score = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    metadata = models.JSONField(default=dict, blank=True)
    # suppression: the key its rule groups alerts by, and when its alert was raised
    group_key = models.CharField(max_length=255, blank=True, default="")
    raised_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "correlations"
        ordering = ["-end_time"]
        indexes = [
            models.Index(fields=["rule", "-end_time"], name="correlations_rule_idx"),
            models.Index(
                fields=["rule", "group_key", "-raised_at"], name="correlations_suppression_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CorrelationEvent(models.Model):
    """An event that took part in a correlation ("EVENT participates_in CORRELATION").

    Refers to the event by its key, without a database foreign key: the events
    partition may be dropped by retention while the correlation and its alert stay.
    """

    id = models.BigAutoField(primary_key=True)
    correlation = models.ForeignKey(
        Correlation, on_delete=models.CASCADE, related_name="event_links"
    )
    event_id = models.UUIDField()
    event_time = models.DateTimeField()

    class Meta:
        db_table = "correlation_events"
        ordering = ["event_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["correlation", "event_id"], name="correlation_events_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.correlation_id}: {self.event_id}"


class RuleQuarantine(models.Model):
    """An event on which evaluating a rule failed (a poison event): set aside with the
    rule and the error; the rest of its batch and the other rules went on."""

    id = models.BigAutoField(primary_key=True)
    rule = models.ForeignKey(
        CorrelationRule, on_delete=models.CASCADE, related_name="quarantined_events"
    )
    event_id = models.UUIDField()
    event_time = models.DateTimeField()
    batch_id = models.UUIDField(null=True, blank=True)
    error = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "correlation_rule_quarantine"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "event_id"], name="rule_quarantine_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.event_id}"


class BatchPart(models.Model):
    """A slice of an ingest batch still to correlate, after the batch (or a larger
    slice) ran over the time budget and was split. Parts run one after another, in
    event-time order; the batch is marked correlated when the last one is done."""

    id = models.BigAutoField(primary_key=True)
    batch = models.ForeignKey(
        "events.IngestBatch", on_delete=models.CASCADE, related_name="correlation_parts"
    )
    start = models.PositiveIntegerField(help_text="First event (in event-time order).")
    end = models.PositiveIntegerField(help_text="One past the last event.")
    done_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, help_text="Why a part was given up, if it was.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "correlation_batch_parts"
        ordering = ["batch", "start"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "start", "end"], name="batch_part_once"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}[{self.start}:{self.end}]"
