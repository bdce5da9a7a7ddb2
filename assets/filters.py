import django_filters

from socapp.filters import IPAddressFilter

from .models import Asset, AssetType


class AssetTypeFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = AssetType
        fields = ["name"]


class AssetFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    hostname = django_filters.CharFilter(lookup_expr="iexact")
    ip_address = IPAddressFilter()
    asset_type = django_filters.CharFilter(field_name="asset_type__name")
    team = django_filters.CharFilter(field_name="team__name")

    class Meta:
        model = Asset
        fields = ["name", "hostname", "ip_address", "asset_type", "is_critical", "team"]
