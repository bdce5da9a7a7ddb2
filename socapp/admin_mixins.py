"""Admin changes land in the audit log too, not only in Django's admin history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from socapp.audit import audit_record, request_addr


class AuditedAdminMixin:
    def log_addition(self, request: Any, obj: Any, message: Any) -> Any:
        audit_record(
            actor=request.user,
            action="admin.create",
            target=obj,
            changes={"message": message},
            remote_addr=request_addr(request),
        )
        return super().log_addition(request, obj, message)  # type: ignore[misc]

    def log_change(self, request: Any, obj: Any, message: Any) -> Any:
        audit_record(
            actor=request.user,
            action="admin.update",
            target=obj,
            changes={"message": message},
            remote_addr=request_addr(request),
        )
        return super().log_change(request, obj, message)  # type: ignore[misc]

    def log_deletions(self, request: Any, queryset: Any) -> Any:
        for obj in queryset:
            audit_record(
                actor=request.user,
                action="admin.delete",
                target=obj,
                remote_addr=request_addr(request),
            )
        return super().log_deletions(request, queryset)  # type: ignore[misc]


class AuditedModelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    pass


class ReadOnlyAdminMixin:
    """For append-only or machine-written rows: visible in the admin, never edited there."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
