"""Threat intelligence: where indicators come from, the indicators, and their sightings."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from socapp.crypto import EncryptedJSONField

from .choices import IntelType, IocStatus, IocType

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

    class Meta:
        db_table = "threat_intel"
        ordering = ["source_name"]
        verbose_name = "threat intel source"

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
