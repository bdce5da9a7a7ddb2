"""Admin changes land in the audit log too, not only in Django's admin history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin

from socapp.audit import audit_record, request_addr
from socapp.audit_access import note_list, note_read

# The mixins go before ModelAdmin in a class's bases; the checker reads them as its
# subclasses, so their super() calls are checked against it.
if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object


class AuditedAdminMixin(_ModelAdmin):
    def log_addition(self, request: Any, obj: Any, message: Any) -> Any:
        audit_record(
            actor=request.user,
            action="admin.create",
            target=obj,
            changes={"message": message},
            remote_addr=request_addr(request),
        )
        return super().log_addition(request, obj, message)

    def log_change(self, request: Any, obj: Any, message: Any) -> Any:
        audit_record(
            actor=request.user,
            action="admin.update",
            target=obj,
            changes={"message": message},
            remote_addr=request_addr(request),
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request: Any, queryset: Any) -> Any:
        for obj in queryset:
            audit_record(
                actor=request.user,
                action="admin.delete",
                target=obj,
                remote_addr=request_addr(request),
            )
        return super().log_deletions(request, queryset)


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


class AuditedReadsMixin(_ModelAdmin):
    """Staff reading alerts, incidents and evidence in the admin are audited as readers
    of the console are (socapp.audit_access): ``<read_action>.list`` with the ids a
    change list shows, ``<read_action>.read`` with the object a change page shows."""

    read_action = ""  # "alert", "incident", ...

    def changelist_view(self, request: Any, extra_context: Any = None) -> Any:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            kind = str(self.opts.verbose_name_plural)
            note_list(request, f"{self.read_action}.list", kind, changelist.result_list)
        return response

    def render_change_form(
        self, request: Any, context: Any, add: bool = False, change: bool = False,
        form_url: str = "", obj: Any = None,
    ) -> Any:  # fmt: skip
        if obj is not None:
            note_read(request, f"{self.read_action}.read", obj, via="admin")
        return super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )
