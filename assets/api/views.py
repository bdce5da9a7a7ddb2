from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from socapp.api.viewsets import AuditedModelViewSet, AuditedReadMixin, ReadOnlyViewSet
from socapp.users import user_of

from .. import services
from ..filters import AssetFilterSet, AssetTypeFilterSet, DiscoveredHostFilterSet
from ..importing import MAX_BYTES, assets_import
from ..models import Asset, DiscoveredHost
from ..selectors import asset_types_all, assets_visible_to, discovered_hosts
from .serializers import (
    AssetSerializer,
    AssetTypeSerializer,
    DiscoveredHostSerializer,
    ImportResultSerializer,
    ImportUploadSerializer,
)


class CsvParser(BaseParser):
    """A CSV body, read up to one byte past the import's limit (the service refuses it)."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return {"csv": stream.read(MAX_BYTES + 1) if stream is not None else b""}


class AssetTypeViewSet(AuditedModelViewSet):
    queryset = asset_types_all()
    serializer_class = AssetTypeSerializer
    filterset_class = AssetTypeFilterSet
    ordering_fields = ["name", "created_at"]


class AssetViewSet(AuditedReadMixin, AuditedModelViewSet):
    """The inventory. Analysts see their teams' assets and those of no team; managers,
    admins, auditors and integrations every one. Writes go through the asset services
    (canonical addresses, the type's attribute schema, the audit log)."""

    queryset = Asset.objects.none()  # the model, for permissions and the schema
    audit_kind = "asset"
    serializer_class = AssetSerializer
    filterset_class = AssetFilterSet
    ordering_fields = ["name", "updated_at", "criticality"]
    action_permissions = {"import_csv": ["assets.add_asset", "assets.change_asset"]}

    def get_queryset(self) -> QuerySet[Asset]:
        return assets_visible_to(user_of(self.request))

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        asset_type = data.pop("asset_type")
        serializer.instance = services.asset_create(
            actor=user_of(self.request), asset_type=asset_type, data=data
        )

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        asset_type = data.pop("asset_type", None)
        services.asset_update(
            actor=user_of(self.request),
            asset=serializer.instance,
            data=data,
            asset_type=asset_type,
        )

    def perform_destroy(self, instance: Asset) -> None:
        services.asset_delete(actor=user_of(self.request), asset=instance)

    @extend_schema(
        request={
            "multipart/form-data": ImportUploadSerializer,
            "text/csv": OpenApiTypes.STR,
        },
        responses={200: ImportResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, CsvParser],
        filterset_class=None,
        pagination_class=None,
    )
    def import_csv(self, request: Request) -> Response:
        """Import a CSV inventory (docs/ASSETS.md): a ``text/csv`` body or a multipart
        ``file``. One transaction; the answer counts created, updated, unchanged and
        skipped rows, with each skipped line's reason. Over 5 MiB or 10,000 rows: 400."""
        if isinstance(request.data, dict) and "csv" in request.data:
            content = request.data["csv"]
        else:
            body = ImportUploadSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            content = body.validated_data["file"].read(MAX_BYTES + 1)
        result = assets_import(actor=user_of(request), content=content)
        return Response(ImportResultSerializer(result.as_dict()).data, status=status.HTTP_200_OK)


class DiscoveredHostViewSet(AuditedReadMixin, ReadOnlyViewSet):
    """Addresses and host names seen in events of the last days (``ASSETS_DISCOVERY_DAYS``)
    that no asset claims: candidates for the inventory."""

    queryset = DiscoveredHost.objects.none()
    audit_kind = "discovered_host"
    serializer_class = DiscoveredHostSerializer
    filterset_class = DiscoveredHostFilterSet
    ordering_fields = ["last_seen", "first_seen", "event_count", "value"]

    def get_queryset(self) -> QuerySet[DiscoveredHost]:
        return discovered_hosts()
