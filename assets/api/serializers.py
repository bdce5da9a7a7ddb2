from typing import Any

from rest_framework import serializers

from socapp.models import Team

from .. import normalize
from ..models import MAX_ADDRESSES, MAX_HOSTNAME_LENGTH, MAX_TAGS, Asset, AssetType, DiscoveredHost
from ..services import check_attribute_schema


class AssetTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = AssetType
        fields = ["id", "name", "description", "attributes_schema", "created_at"]

    def validate_attributes_schema(self, value: object) -> object:
        check_attribute_schema(value)
        return value


def _texts(max_length: int, limit: int = MAX_ADDRESSES) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=max_length, trim_whitespace=True),
        max_length=limit,
        required=False,
    )


class AssetSerializer(serializers.ModelSerializer):
    """An asset. Lists are made canonical on save (IPs compressed, host names and MACs
    lower-case, MACs colon-separated); ``attributes`` must satisfy the asset type's
    ``attributes_schema``."""

    asset_type = serializers.SlugRelatedField(slug_field="name", queryset=AssetType.objects.all())
    team = serializers.SlugRelatedField(
        slug_field="name", queryset=Team.objects.all(), required=False, allow_null=True
    )
    ip_addresses = _texts(45)
    mac_addresses = _texts(17)
    hostnames = _texts(MAX_HOSTNAME_LENGTH)
    tags = _texts(64, MAX_TAGS)

    def _canonical(self, values: list[str], one: Any, what: str) -> list[str]:
        try:
            return normalize.many(values, one, what=what)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_ip_addresses(self, value: list[str]) -> list[str]:
        return self._canonical(value, normalize.ip, "IP addresses")

    def validate_mac_addresses(self, value: list[str]) -> list[str]:
        return self._canonical(value, normalize.mac, "MAC addresses")

    def validate_hostnames(self, value: list[str]) -> list[str]:
        return self._canonical(value, normalize.hostname, "host names")

    def validate_tags(self, value: list[str]) -> list[str]:
        return self._canonical(value, normalize.tag, "tags")

    class Meta:
        model = Asset
        fields = [
            "id",
            "name",
            "asset_type",
            "ip_addresses",
            "mac_addresses",
            "hostnames",
            "operating_system",
            "owner",
            "team",
            "criticality",
            "tags",
            "attributes",
            "first_seen",
            "last_seen",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["first_seen", "last_seen", "created_at", "updated_at"]
        # Uniqueness (name, any case) is the service's to check, in its transaction.
        validators: list[object] = []


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    reasons = serializers.ListField(
        child=serializers.DictField(), help_text="Skipped lines: {line, reason}, the first 200."
    )


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV file (UTF-8).")


class DiscoveredHostSerializer(serializers.ModelSerializer):
    class Meta:
        model = DiscoveredHost
        fields = ["id", "kind", "value", "first_seen", "last_seen", "event_count"]
