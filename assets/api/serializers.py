from rest_framework import serializers

from socapp.models import Team

from ..models import Asset, AssetType


class AssetTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = AssetType
        fields = ["id", "name", "description", "attributes_schema", "created_at"]


class AssetSerializer(serializers.ModelSerializer):
    asset_type = serializers.SlugRelatedField(slug_field="name", queryset=AssetType.objects.all())
    team = serializers.SlugRelatedField(
        slug_field="name", queryset=Team.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Asset
        fields = [
            "id",
            "name",
            "asset_type",
            "ip_address",
            "mac_address",
            "hostname",
            "operating_system",
            "metadata",
            "is_critical",
            "team",
            "created_at",
            "updated_at",
        ]
