import django_filters

from socapp.filters import DateTimeFilter, IPAddressFilter

from .models import Event, EventType, Source


class SourceFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    team = django_filters.CharFilter(field_name="team__name")

    class Meta:
        model = Source
        fields = ["name", "source_type", "format", "is_active", "team"]


class EventTypeFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = EventType
        fields = ["name", "category"]


class EventFilterSet(django_filters.FilterSet):
    since = DateTimeFilter(field_name="event_time", lookup_expr="gte")
    until = DateTimeFilter(field_name="event_time", lookup_expr="lt")
    source = django_filters.CharFilter(field_name="source__name")
    source_ip = IPAddressFilter()
    dest_ip = IPAddressFilter()
    event_type = django_filters.CharFilter()
    protocol = django_filters.CharFilter(lookup_expr="iexact")
    dest_port = django_filters.NumberFilter()

    class Meta:
        model = Event
        fields = [
            "since",
            "until",
            "source",
            "source_ip",
            "dest_ip",
            "event_type",
            "protocol",
            "dest_port",
        ]
