from __future__ import annotations

import ipaddress
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from socapp.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin
from socapp.users import user_of

from .models import Event, EventAttribute, EventType, IngestBatch, QuarantinedRecord, Source
from .services import source_issue_token, source_revoke_token


@admin.register(Source)
class SourceAdmin(AuditedModelAdmin):
    """Sources; "Issue a new ingest token" shows the token once, "Revoke" stops it."""

    list_display = [
        "name",
        "source_type",
        "format",
        "team",
        "is_active",
        "last_seen",
        "accepted_count",
        "duplicate_count",
        "quarantined_count",
        "bytes_received",
        "token_state",
    ]
    list_filter = ["source_type", "format", "is_active", "team"]
    search_fields = ["name", "description", "ip_address"]
    readonly_fields = [*Source.MANAGED_FIELDS, "created_at", "updated_at"]
    list_select_related = ["team"]
    actions = ["issue_token", "revoke_token"]

    @admin.display(description="token")
    def token_state(self, source: Source) -> str:
        if not source.token_digest:
            return "none"
        return (
            f"{source.token_prefix}… revoked"
            if source.token_revoked_at
            else f"{source.token_prefix}…"
        )

    def save_model(self, request: HttpRequest, obj: Source, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            token = source_issue_token(source=obj, actor=user_of(request))
            messages.warning(request, f"Ingest token for {obj.name}, shown only this once: {token}")

    # Token actions change the source (and show a new token): change_source, not the
    # view permission that is enough to see the list (the read-only auditor has it).
    @admin.action(
        description="Issue a new ingest token (the old one stops working)", permissions=["change"]
    )
    def issue_token(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            token = source_issue_token(source=source, actor=user_of(request))
            messages.warning(
                request, f"New ingest token for {source.name}, shown only this once: {token}"
            )

    @admin.action(description="Revoke the ingest token", permissions=["change"])
    def revoke_token(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        for source in queryset:
            source_revoke_token(source=source, actor=user_of(request))
        self.message_user(request, f"Revoked the tokens of {queryset.count()} source(s).")


@admin.register(EventType)
class EventTypeAdmin(AuditedModelAdmin):
    list_display = ["name", "category", "severity_default", "created_at"]
    list_filter = ["category", "severity_default"]
    search_fields = ["name", "description"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Events are evidence: readable in the admin, never edited there."""

    list_display = [
        "event_time",
        "event_type",
        "source",
        "source_ip",
        "source_port",
        "dest_ip",
        "dest_port",
        "protocol",
    ]
    # Only filters answered from small tables or indexes: a DISTINCT over a column of
    # the events table (what a plain field filter asks for) would scan every partition.
    list_filter = [("event_time", admin.DateFieldListFilter), "source"]
    search_fields = ["event_type"]
    search_help_text = "An IP address (source or destination) or an exact event type."
    list_select_related = ["source"]
    show_full_result_count = False  # an exact count of a partitioned table is slow
    list_per_page = 50

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Event], search_term: str
    ) -> tuple[QuerySet[Event], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            ipaddress.ip_address(term)
        except ValueError:
            return queryset.filter(event_type=term), False
        return queryset.filter(Q(source_ip=term) | Q(dest_ip=term)), False


@admin.register(EventAttribute)
class EventAttributeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "value", "data_type", "event_id", "event_time"]
    list_filter = ["data_type"]
    search_fields = ["name"]
    show_full_result_count = False


@admin.register(IngestBatch)
class IngestBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "committed_at",
        "source",
        "transport",
        "accepted",
        "duplicates",
        "quarantined",
        "bytes",
        "idempotency_key",
        "correlated_at",
    ]
    list_filter = ["transport", "source", ("committed_at", admin.DateFieldListFilter)]
    search_fields = ["=idempotency_key", "=id"]
    list_select_related = ["source"]


class SummaryRowFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("record", "records kept whole"), ("summary", "summaries of records not kept")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[QuarantinedRecord]
    ) -> QuerySet[QuarantinedRecord]:
        if self.value() == "record":
            return queryset.filter(omitted=0)
        if self.value() == "summary":
            return queryset.filter(omitted__gt=0)
        return queryset


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What could not be parsed, with why. "Reprocess" runs the selection through the
    source's parser again (after a parser fix); what still fails stays here.

    A batch keeps QUARANTINE_MAX_PER_BATCH records whole; the rest of its rejects are one
    summary row ("omitted": how many, counted per reason, with their first and last
    line). A summary has no bytes to reprocess: resend those records after the fix."""

    list_display = [
        "received_at",
        "source",
        "parser",
        "line_number",
        "reason",
        "preview",
        "omitted",
        "reprocessed_at",
    ]
    list_filter = [
        "parser",
        "source",
        ("reprocessed_at", admin.EmptyFieldListFilter),
        SummaryRowFilter,
    ]
    search_fields = ["reason"]
    fields = readonly_fields = (
        "source",
        "batch",
        "parser",
        "reason",
        "line_number",
        "received_at",
        "reprocessed_at",
        "raw_text",
        "omitted",
        "summary",
    )
    list_select_related = ["source"]
    actions = ["reprocess"]

    @admin.display(description="raw (first 120 characters)")
    def preview(self, record: QuarantinedRecord) -> str:
        if record.omitted:
            return f"(summary of {record.omitted:,} records not kept)"
        return record.raw_text[:120]

    def has_change_permission(
        self, request: HttpRequest, obj: QuarantinedRecord | None = None
    ) -> bool:
        return request.user.has_perm("events.change_quarantinedrecord") and obj is None

    @admin.action(description="Reprocess with the current parser", permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[QuarantinedRecord]) -> None:
        from .ingest import quarantine_reprocess

        report = quarantine_reprocess(
            records=queryset.filter(reprocessed_at__isnull=True),
            actor=user_of(request),
            now=timezone.now(),
        )
        skipped = (
            f" {report.summaries_skipped} summary row(s) skipped: their records were "
            "counted, not kept; resend them."
            if report.summaries_skipped
            else ""
        )
        self.message_user(
            request,
            f"Reprocessed {report.attempted}: {report.stored} stored as "
            f"events, {report.still_failing} still quarantined.{skipped}",
        )
