"""Base viewsets: declarative, permission-checked by default, and audited.

Reference data (assets, IOCs, event types, sources, rules) is plain create/update/
delete; these viewsets save it and write the audit entry in one transaction.
Anything with rules of its own (alerts, incidents, tokens, ingest) goes through the
app's services instead, which audit themselves.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict
from rest_framework import mixins, viewsets

from socapp.audit import audit_record, model_changes, request_addr


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


class ReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    pass
