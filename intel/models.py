"""Threat intelligence: where indicators come from, the indicators, and their sightings."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from socapp.crypto import EncryptedJSONField

from .choices import FeedFormat, IntelType, IocStatus, IocType, SightingKind, Tlp

CONFIDENCE = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class ThreatIntel(models.Model):
    """A source of indicators: a feed, a collection, a report or a hand-kept list."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source_name = models.CharField(max_length=255, unique=True)
    intel_type = models.CharField(
        max_length=20, choices=IntelType.choices, default=IntelType.MANUAL
    )
    description = models.TextField(blank=True)
    url = models.URLField(blank=True, help_text="Where a feed is pulled from.")
    credentials = EncryptedJSONField(
        null=True, blank=True, help_text="API keys for pulling the feed; encrypted at rest."
    )
    confidence_score = models.FloatField(default=0.5, validators=CONFIDENCE)
    is_active = models.BooleanField(default=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Issue 15: a feed's provenance, handling and polling.
    provider = models.CharField(max_length=255, blank=True, help_text="Who publishes it.")
    tlp = models.CharField(max_length=20, choices=Tlp.choices, default=Tlp.AMBER)
    feed_format = models.CharField(max_length=20, choices=FeedFormat.choices, blank=True)
    poll_interval = models.DurationField(
        null=True, blank=True, help_text="How often beat fetches the feed; empty: never."
    )
    poll_state = models.JSONField(
        default=dict, blank=True, help_text="Where the last fetch stopped (TAXII added_after)."
    )
    last_fetch_at = models.DateTimeField(null=True, blank=True)
    last_fetch_error = models.TextField(blank=True)
    last_fetch_counts = models.JSONField(default=dict, blank=True)
    # Set while a poll runs (a claim: beat's poll and "Fetch now" never run together);
    # it expires, so a worker that died mid-poll does not keep the feed claimed for ever.
    polling_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "threat_intel"
        ordering = ["source_name"]
        verbose_name = "threat intel source"
        permissions = [
            ("import_threatintel", "Can import indicators into a feed (files, API, polling)"),
        ]

    def __str__(self) -> str:
        return self.source_name


class IOC(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intel = models.ForeignKey(ThreatIntel, on_delete=models.CASCADE, related_name="iocs")
    ioc_type = models.CharField(max_length=20, choices=IocType.choices)
    value = models.CharField(max_length=2048)
    status = models.CharField(max_length=20, choices=IocStatus.choices, default=IocStatus.ACTIVE)
    confidence_score = models.FloatField(default=0.5, validators=CONFIDENCE)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Issue 15: life cycle and context.
    updated_at = models.DateTimeField(auto_now=True)
    tlp = models.CharField(
        max_length=20, choices=Tlp.choices, blank=True, help_text="Empty: the feed's TLP."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this the indicator no longer matches."
    )
    external_id = models.CharField(
        max_length=255, blank=True, help_text="The STIX id or MISP uuid it was imported as."
    )
    attack_techniques = models.JSONField(default=list, blank=True)
    context = models.JSONField(
        default=dict, blank=True, help_text="Malware, threat actors, campaigns it relates to."
    )
    sighting_count = models.PositiveIntegerField(default=0)
    last_sighted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "iocs"
        ordering = ["-created_at"]
        verbose_name = "IOC"
        constraints = [
            models.UniqueConstraint(
                fields=["intel", "ioc_type", "value"], name="iocs_unique_per_intel"
            ),
        ]
        indexes = [
            # IOC matching looks up active indicators by exact value.
            models.Index(fields=["value", "ioc_type"], name="iocs_value_idx"),
            # The matcher's rebuild reads the active set; retro-hunts read what changed.
            models.Index(fields=["status", "updated_at"], name="iocs_status_updated_idx"),
            # Not declared here: iocs_value_upper_trgm_idx, the indicator search's trigram
            # index on UPPER(value) (migration 0006, docs/INTEL.md "Searching indicators").
            # OpClass around an expression needs django.contrib.postgres installed, which
            # socapp does not otherwise need.
        ]

    def __str__(self) -> str:
        return f"{self.ioc_type}:{self.value}"


class IocMatch(models.Model):
    """An event that matched an IOC ("IOC matches EVENT" in the seed).

    Events are referred to by their key (event_id, event_time) without a database
    foreign key, so dropping an old events partition never touches sightings.
    """

    id = models.BigAutoField(primary_key=True)
    ioc = models.ForeignKey(IOC, on_delete=models.CASCADE, related_name="matches")
    event_id = models.UUIDField()
    event_time = models.DateTimeField()
    field = models.CharField(max_length=100, help_text="The event field that matched.")
    matched_at = models.DateTimeField(auto_now_add=True)
    retro_hunt = models.BooleanField(
        default=False, help_text="Found by a retro-hunt over stored events, not at ingest."
    )

    class Meta:
        db_table = "ioc_matches"
        ordering = ["-event_time"]
        verbose_name_plural = "IOC matches"
        constraints = [
            models.UniqueConstraint(
                fields=["ioc", "event_id", "field"], name="ioc_matches_once_per_field"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ioc} @ {self.event_time:%Y-%m-%d %H:%M}"


class IocSighting(models.Model):
    """What was learnt about an indicator: seen, judged a false positive, expired."""

    id = models.BigAutoField(primary_key=True)
    ioc = models.ForeignKey(IOC, on_delete=models.CASCADE, related_name="sightings")
    kind = models.CharField(max_length=20, choices=SightingKind.choices)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    reference = models.CharField(
        max_length=255, blank=True, help_text="What it came from, e.g. the alert's id."
    )

    class Meta:
        db_table = "ioc_sightings"
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.ioc} @ {self.at:%Y-%m-%d %H:%M}"


class RetroHunt(models.Model):
    """A search of stored events for indicators that arrived after them, with its progress
    (``correlation.services.retrohunt`` runs it in the background)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    indicators = models.ManyToManyField(IOC, related_name="retro_hunts", blank=True)
    indicator_count = models.PositiveIntegerField(default=0)
    range_start = models.DateTimeField(help_text="The oldest event time searched.")
    range_end = models.DateTimeField(help_text="The newest event time searched.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    searched_until = models.DateTimeField(
        null=True, blank=True, help_text="Event time up to which it is done (it resumes there)."
    )
    progress = models.FloatField(default=0.0, validators=CONFIDENCE)
    events_scanned = models.BigIntegerField(default=0)
    matches = models.PositiveIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        db_table = "retro_hunts"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"retro-hunt of {self.indicator_count} indicators ({self.status})"
