import django_filters

from socapp.filters import DateTimeFilter

from .models import Correlation, CorrelationRule


class CorrelationRuleFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    team = django_filters.CharFilter(field_name="team__name")

    class Meta:
        model = CorrelationRule
        fields = ["name", "rule_type", "level", "status", "is_active", "team", "sigma_id"]


class CorrelationFilterSet(django_filters.FilterSet):
    rule = django_filters.UUIDFilter(field_name="rule__id")
    since = DateTimeFilter(field_name="end_time", lookup_expr="gte")
    until = DateTimeFilter(field_name="end_time", lookup_expr="lt")

    class Meta:
        model = Correlation
        fields = ["rule", "since", "until"]
