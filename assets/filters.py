from typing import Any

import django_filters
from django.db.models import QuerySet

from socapp.filters import IPAddressFilter

from . import normalize
from .choices import Criticality
from .models import Asset, AssetType, DiscoveredHost


class AssetTypeFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = AssetType
        fields = ["name"]


class AssetFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    hostname = django_filters.CharFilter(
        method="filter_hostname", max_length=253, help_text="One of the asset's host names."
    )
    ip_address = IPAddressFilter(method="filter_ip", help_text="One of the asset's IP addresses.")
    mac_address = django_filters.CharFilter(
        method="filter_mac", max_length=17, help_text="One of the asset's MAC addresses."
    )
    asset_type = django_filters.CharFilter(field_name="asset_type__name")
    team = django_filters.CharFilter(field_name="team__name")
    criticality = django_filters.ChoiceFilter(choices=Criticality.choices)
    tag = django_filters.CharFilter(field_name="tags", lookup_expr="contains", method="filter_tag")

    class Meta:
        model = Asset
        fields = ["name", "asset_type", "criticality", "team"]

    def filter_ip(self, queryset: QuerySet[Asset], name: str, value: Any) -> QuerySet[Asset]:
        return queryset.filter(ip_addresses__contains=[normalize.ip(value)])

    def filter_hostname(self, queryset: QuerySet[Asset], name: str, value: str) -> QuerySet[Asset]:
        try:
            return queryset.filter(hostnames__contains=[normalize.hostname(value)])
        except ValueError:
            return queryset.none()

    def filter_mac(self, queryset: QuerySet[Asset], name: str, value: str) -> QuerySet[Asset]:
        try:
            return queryset.filter(mac_addresses__contains=[normalize.mac(value)])
        except ValueError:
            return queryset.none()

    def filter_tag(self, queryset: QuerySet[Asset], name: str, value: str) -> QuerySet[Asset]:
        return queryset.filter(tags__contains=[value.strip().lower()[:64]])


class DiscoveredHostFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=DiscoveredHost.Kind.choices)
    value = django_filters.CharFilter(lookup_expr="icontains", max_length=253)

    class Meta:
        model = DiscoveredHost
        fields = ["kind", "value"]
