"""Sources, event types and the events themselves.

``events`` and ``event_attributes`` are range-partitioned on ``event_time`` (see
events/partitions.py and migration 0001). PostgreSQL requires the partition key in the
primary key, so the table's key is ``(event_id, event_time)``; Django knows the model
by ``event_id`` alone (time-ordered UUIDs are unique on their own) because the admin
cannot show models with composite keys. Nothing refers to an event through a database
foreign key: references carry ``(event_id, event_time)`` and survive dropped partitions.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from socapp.crypto import EncryptedJSONField
from socapp.ids import uuid7

from .choices import AttributeDataType, EventCategory, LogFormat, SourceType, Transport


class Source(models.Model):
    """Where logs come from: a firewall, a host, an application, a feed, a scanner."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, unique=True)
    source_type = models.CharField(
        max_length=32, choices=SourceType.choices, default=SourceType.OTHER
    )
    format = models.CharField(max_length=16, choices=LogFormat.choices, default=LogFormat.JSON)
    description = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    configuration = models.JSONField(default=dict, blank=True)
    secret_configuration = EncryptedJSONField(
        null=True, blank=True, help_text="Credentials the source needs; encrypted at rest."
    )
    team = models.ForeignKey("socapp.Team", on_delete=models.PROTECT, related_name="sources")
    is_active = models.BooleanField(default=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        help_text="IANA zone of timestamps this source writes without an offset.",
    )
    senders = ArrayField(
        models.CharField(max_length=255),
        default=list,
        blank=True,
        help_text="Syslog: the IP addresses, networks (CIDR) or host names this source stands for.",
    )
    # The ingest token: only its digest is kept (see socapp/tokens.py).
    token_prefix = models.CharField(max_length=32, blank=True, editable=False)
    token_digest = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001 - NULL: no token (unique)
    token_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    token_revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seen = models.DateTimeField(null=True, blank=True)
    accepted_count = models.BigIntegerField(default=0, editable=False)
    duplicate_count = models.BigIntegerField(default=0, editable=False)
    quarantined_count = models.BigIntegerField(default=0, editable=False)
    bytes_received = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "sources"
        ordering = ["name"]
        permissions = [
            # Without it, a person sends events by hand only into their teams' sources:
            # forged events in another team's source would feed that team's detections.
            ("ingest_any_source", "Can upload events into any team's source"),
        ]

    def __str__(self) -> str:
        return self.name

    # Fields socapp keeps up to date itself: shown, never edited by hand.
    MANAGED_FIELDS = (
        "token_prefix",
        "token_created_at",
        "token_revoked_at",
        "last_seen",
        "accepted_count",
        "duplicate_count",
        "quarantined_count",
        "bytes_received",
    )

    @property
    def has_usable_token(self) -> bool:
        return bool(self.token_digest) and self.token_revoked_at is None


class EventType(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    category = models.CharField(
        max_length=32, choices=EventCategory.choices, default=EventCategory.OTHER
    )
    description = models.TextField(blank=True)
    schema = models.JSONField(
        default=dict, blank=True, help_text="JSON Schema of this type's normalized data."
    )
    severity_default = models.PositiveSmallIntegerField(
        default=1, help_text="Severity level (1 informational … 5 critical) of a bare event."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "event_types"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    event_id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    event_time = models.DateTimeField()
    source_ip = models.GenericIPAddressField(null=True, blank=True)  # inet
    dest_ip = models.GenericIPAddressField(null=True, blank=True)  # inet
    source_port = models.IntegerField(null=True, blank=True)
    dest_port = models.IntegerField(null=True, blank=True)
    protocol = models.CharField(max_length=20, blank=True)
    event_type = models.CharField(max_length=100)
    raw_data = models.TextField(blank=True)
    normalized_data = models.JSONField(default=dict, blank=True)
    # The seed declares these two as REFERENCES. We keep the columns but not the database
    # constraints: each one costs a lookup per row of every COPY, and it makes creating a
    # partition lock `sources`/`event_types` against concurrent writers. Ingest resolves
    # both from the authenticated source, and sources are deactivated, never deleted.
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    type_definition = models.ForeignKey(
        EventType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_column="event_type_id",
        db_constraint=False,
    )
    asset = models.ForeignKey(
        "assets.Asset",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,  # assets come and go; events are history
    )
    # The ingest batch that stored the event: what the correlation task reads.
    batch_id = models.UUIDField(null=True, blank=True)
    # A natural identity some formats carry (CloudTrail eventID, a Windows record id, ...):
    # the same record sent twice by overlapping batches is stored once per source.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULL never conflicts
    created_at = models.DateTimeField(db_default=Now())
    # Kept true by a BEFORE UPDATE trigger, so bulk UPDATEs (QuerySet.update) set it too.
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "events"
        ordering = ["-event_time"]
        indexes = [
            # Time-range scans: "events between T1 and T2" (search, hourly summary refresh,
            # backtests) and "newest events" lists.
            models.Index(fields=["event_time"], name="idx_events_time"),
            # "Events from this IP, newest first": the IP entity page and brute-force /
            # scan rules' backtests. Also serves plain source_ip equality, so the seed's
            # separate hash index on source_ip would only cost write speed.
            models.Index(fields=["source_ip", "-event_time"], name="idx_events_source_ip_time"),
            # "Events to this IP, newest first": the same for destinations.
            models.Index(fields=["dest_ip", "-event_time"], name="idx_events_dest_ip_time"),
            # "Events of this type in a time range": search by event.type and the
            # per-type dashboard drill-down.
            models.Index(fields=["event_type", "-event_time"], name="idx_events_type"),
            # Containment search on normalized fields, e.g.
            # normalized_data @> '{"user": {"name": "alice"}}'. jsonb_path_ops serves @>
            # only, and ingests ~1.5x faster than the default opclass (docs/PERFORMANCE.md).
            GinIndex(
                fields=["normalized_data"],
                name="idx_events_normalized_data",
                opclasses=["jsonb_path_ops"],
            ),
            # "The events of ingest batch B": the correlation task and its sweeper.
            models.Index(fields=["batch_id"], name="idx_events_batch"),
        ]
        constraints = [
            # Rows without a natural key (NULL) never conflict; rows with one are stored
            # once per source (INSERT ... ON CONFLICT DO NOTHING counts the duplicates).
            models.UniqueConstraint(
                fields=["source", "dedupe_key", "event_time"], name="events_natural_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} @ {self.event_time:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # An INSERT into a partitioned table fails without a partition for its time.
        from .partitions import EVENTS, ensure_partitions

        ensure_partitions(EVENTS, [self.event_time])
        super().save(*args, **kwargs)


class EventAttribute(models.Model):
    """An extra name/value pair of an event (the seed's EVENT_ATTRIBUTE).

    Partitioned like ``events`` and dropped with it by retention.
    """

    attribute_id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    event_id = models.UUIDField()
    event_time = models.DateTimeField()
    name = models.CharField(max_length=255)
    value = models.TextField(blank=True)
    data_type = models.CharField(
        max_length=16, choices=AttributeDataType.choices, default=AttributeDataType.STRING
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "event_attributes"
        ordering = ["name"]
        indexes = [
            # "The attributes of this event" on the event detail page.
            models.Index(fields=["event_id", "event_time"], name="idx_event_attributes_event"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value[:40]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        from .partitions import EVENT_ATTRIBUTES, ensure_partitions

        ensure_partitions(EVENT_ATTRIBUTES, [self.event_time])
        super().save(*args, **kwargs)


class HourlyEventSummary(models.Model):
    """Rows of the ``hourly_event_summary`` materialized view (last 7 days).

    Refreshed concurrently by the beat task ``refresh_hourly_event_summary``; dashboards
    read it instead of counting events on every page view.
    """

    REFRESHED_CACHE_KEY = "events:hourly_summary:refreshed_at"  # when, as a Unix time

    pk = models.CompositePrimaryKey("hour", "event_type", "source_id")
    hour = models.DateTimeField()
    event_type = models.CharField(max_length=100)
    source = models.ForeignKey(
        Source, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    event_count = models.BigIntegerField()
    unique_sources = models.BigIntegerField(help_text="Distinct source IPs in the hour.")

    class Meta:
        managed = False
        db_table = "hourly_event_summary"
        ordering = ["-hour"]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.event_type}: {self.event_count}"


class IngestBatch(models.Model):
    """One accepted unit of ingestion: an API call, a syslog flush, a file chunk.

    Its counts are the answer the API gave; with an idempotency key, the same key and
    body get the same answer again and store nothing. ``correlated_at`` stays empty until
    the correlation task has evaluated the batch's events; the sweeper re-sends the
    batches it finds empty for too long.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="batches")
    transport = models.CharField(max_length=16, choices=Transport.choices)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 - NULL: no key
    body_digest = models.CharField(max_length=64, blank=True)
    bytes = models.BigIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    first_event_time = models.DateTimeField(null=True, blank=True)
    last_event_time = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    committed_at = models.DateTimeField(default=timezone.now)
    correlated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "ingest_batches"
        ordering = ["-committed_at"]
        verbose_name_plural = "ingest batches"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "idempotency_key"],
                name="ingest_batches_idempotency",
                condition=models.Q(idempotency_key__isnull=False),
            ),
        ]
        indexes = [
            # The correlation sweeper: committed batches not yet correlated, oldest first.
            models.Index(
                fields=["committed_at"],
                name="ingest_batches_uncorrelated",
                condition=models.Q(correlated_at__isnull=True),
            ),
            # A source's batches are correlated in commit order: "is an earlier batch of
            # this source still waiting?" for each batch.
            models.Index(
                fields=["source", "committed_at"],
                name="ingest_batches_source_waiting",
                condition=models.Q(correlated_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.transport} {self.committed_at:%Y-%m-%d %H:%M:%S}"


class QuarantinedRecord(models.Model):
    """Input that could not become an event: the raw bytes, where they came from, which
    parser refused them and why. Reprocessed after a parser fix with
    ``manage.py reprocess_quarantine``."""

    id = models.BigAutoField(primary_key=True)
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="quarantine")
    batch = models.ForeignKey(
        IngestBatch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quarantined_records",
    )
    parser = models.CharField(max_length=16, choices=LogFormat.choices)
    reason = models.TextField()
    raw = models.BinaryField()
    line_number = models.PositiveIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    reprocessed_at = models.DateTimeField(null=True, blank=True)
    # A summary row: this many more rejected records of the batch, counted but not kept
    # (QUARANTINE_MAX_PER_BATCH); ``summary`` has their count per reason and their first
    # and last line. 0 for a record kept whole.
    omitted = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "quarantine"
        ordering = ["-received_at"]
        verbose_name = "quarantined record"

    def __str__(self) -> str:
        if self.omitted:
            return f"{self.source}: {self.omitted:,} more rejected records (summary)"
        return f"{self.source} line {self.line_number}: {self.reason[:60]}"

    @property
    def raw_text(self) -> str:
        return bytes(self.raw).decode("utf-8", errors="replace")
