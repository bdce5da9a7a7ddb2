import django_filters

from .models import IOC, ThreatIntel


class ThreatIntelFilterSet(django_filters.FilterSet):
    source_name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = ThreatIntel
        fields = ["source_name", "intel_type", "is_active"]


class IOCFilterSet(django_filters.FilterSet):
    value = django_filters.CharFilter(lookup_expr="iexact")
    value_contains = django_filters.CharFilter(field_name="value", lookup_expr="icontains")
    intel = django_filters.CharFilter(field_name="intel__source_name")
    min_confidence = django_filters.NumberFilter(field_name="confidence_score", lookup_expr="gte")

    class Meta:
        model = IOC
        fields = ["ioc_type", "status", "value", "intel"]
