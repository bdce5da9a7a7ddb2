import django_filters

from .choices import AlertStatus, IncidentPriority, IncidentStatus
from .models import Alert, Incident, ResponseAction


class AlertFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AlertStatus.choices)
    severity = django_filters.CharFilter(field_name="severity__name")
    team = django_filters.CharFilter(field_name="team__name")
    assignee = django_filters.CharFilter(field_name="assignee__username")
    rule = django_filters.UUIDFilter(field_name="rule__sigma_id", help_text="The rule's Sigma id.")
    source = django_filters.CharFilter(
        method="filter_source", help_text="Name of a source whose events are behind the alert."
    )
    since = django_filters.IsoDateTimeFilter(field_name="last_seen_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="last_seen_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields = ["status", "severity", "team", "assignee", "rule", "source", "since", "until"]

    def filter_source(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return queryset.filter(details__sources__contains=[value])


class IncidentFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=IncidentStatus.choices)
    priority = django_filters.MultipleChoiceFilter(choices=IncidentPriority.choices)
    team = django_filters.CharFilter(field_name="team__name")
    assigned_to = django_filters.CharFilter(field_name="assigned_to__username")
    number = django_filters.CharFilter()

    class Meta:
        model = Incident
        fields = ["status", "priority", "team", "assigned_to", "number"]


class ResponseActionFilterSet(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="incident__number")

    class Meta:
        model = ResponseAction
        fields = ["incident", "action_type", "status"]
