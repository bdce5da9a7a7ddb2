"""Base viewsets: declarative, permission-checked by default, and audited.

Reference data (assets, IOCs, event types, sources, rules) is plain create/update/
delete; these viewsets save it and write the audit entry in one transaction.
Anything with rules of its own (alerts, incidents, tokens, ingest) goes through the
app's services instead, which audit themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.forms.models import model_to_dict
from rest_framework import mixins, viewsets

from socapp.audit import audit_record, model_changes, request_addr
from socapp.audit_access import note_list, note_read


def _snapshot(instance: Any) -> dict[str, Any]:
    return {k: v for k, v in model_to_dict(instance).items() if not isinstance(v, list | bytes)}


class AuditedModelViewSet(viewsets.ModelViewSet):
    def perform_create(self, serializer: Any) -> None:
        with transaction.atomic():
            instance = serializer.save()
            audit_record(
                actor=self.request.user,
                action="create",
                target=instance,
                changes=model_changes({}, _snapshot(instance)),
                remote_addr=request_addr(self.request),
            )

    def perform_update(self, serializer: Any) -> None:
        with transaction.atomic():
            before = _snapshot(serializer.instance)
            instance = serializer.save()
            audit_record(
                actor=self.request.user,
                action="update",
                target=instance,
                changes=model_changes(before, _snapshot(instance)),
                remote_addr=request_addr(self.request),
            )

    def perform_destroy(self, instance: Any) -> None:
        with transaction.atomic():
            audit_record(
                actor=self.request.user,
                action="delete",
                target=instance,
                changes=model_changes(_snapshot(instance), {}),
                remote_addr=request_addr(self.request),
            )
            instance.delete()


# The mixin goes before a viewset in a class's bases; the checker reads it as a viewset,
# so its super() calls are checked against one.
if TYPE_CHECKING:
    _GenericViewSet = viewsets.GenericViewSet[Any]
else:
    _GenericViewSet = object


class ReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    pass


# Reads are audited too: a GET notes the objects it returned (a page of a list by their
# ids, or the object of a detail or of one of its parts), and the audit middleware writes
# one entry for the request. ``audit_kind`` names them ("alert"). (A comment, not a
# docstring: drf-spectacular would show a mixin's docstring as the API's description.)
class AuditedReadMixin(_GenericViewSet):
    audit_kind = ""

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        if page is not None and self.request.method in ("GET", "HEAD"):
            note_list(self.request, f"{self.audit_kind}.list", f"{self.audit_kind}s", page)
        return page

    def get_object(self) -> Any:
        target = super().get_object()
        if self.request.method in ("GET", "HEAD"):
            part = {} if self.action == "retrieve" else {"part": self.action}
            note_read(self.request, f"{self.audit_kind}.read", target, **part)
        return target
