"""One FilterSet per model: the API lists, the console's pages and exports share them."""

from __future__ import annotations

import uuid

import django_filters
from django.db.models import Q, QuerySet
from django.http import QueryDict

from correlation.choices import SeverityName
from socapp.filters import DateTimeFilter, RelativeRangeFilter
from socapp.timerange import TimeRangeError, time_range_from

from .choices import AlertStatus, IncidentPriority, IncidentStatus
from .entities import entity_candidates
from .models import Alert, Incident, ResponseAction

OPEN_STATUSES = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.IN_PROGRESS]


class AlertFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AlertStatus.choices)
    severity = django_filters.MultipleChoiceFilter(
        field_name="severity__name", choices=SeverityName.choices
    )
    team = django_filters.CharFilter(field_name="team__name")
    assignee = django_filters.CharFilter(
        method="filter_assignee", help_text='A username, "me", or "none" for unassigned alerts.'
    )
    rule = django_filters.CharFilter(
        method="filter_rule",
        help_text="The rule's id, its Sigma id, its Sigma name (`socapp_ssh_brute_force`) or "
        "its name, as `manage.py backtest` takes; one that names no rule matches no alert.",
    )
    entity = django_filters.CharFilter(
        method="filter_entity",
        help_text='An IP, a user or a host the alert is about: "10.0.0.5", "user:root", '
        '"host:web1" (a bare name matches a host or a user).',
    )
    source = django_filters.CharFilter(
        method="filter_source", help_text="Name of a source whose events are behind the alert."
    )
    incident = django_filters.CharFilter(
        method="filter_incident", help_text='An incident number, or "none" for unlinked alerts.'
    )
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title")
    range = RelativeRangeFilter(
        field_name="last_seen_at",
        help_text="Last seen within a relative range: 15m, 1h, 4h, 24h, 7d, 30d, or any number "
        'of m, h, d or w ("now-6h" works too), at most TIME_RANGE_MAX_DAYS; "custom" leaves '
        'the range to since/until, "any" is any time.',
    )
    since = DateTimeFilter(field_name="last_seen_at", lookup_expr="gte")
    until = DateTimeFilter(field_name="last_seen_at", lookup_expr="lt")
    changed_since = DateTimeFilter(
        field_name="updated_at",
        lookup_expr="gt",
        help_text="Alerts created or changed after this moment: the live queue's catch-up.",
    )

    class Meta:
        model = Alert
        fields = [
            "status",
            "severity",
            "team",
            "assignee",
            "rule",
            "entity",
            "source",
            "incident",
            "q",
            "range",
            "since",
            "until",
            "changed_since",
        ]

    def filter_assignee(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(assignee=user) if user else queryset.none()
        return queryset.filter(assignee__username=value)

    def filter_rule(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Like the other names here (team, source, incident), an unknown rule is an empty
        # list rather than an error: a rule renamed or deleted still has a bookmarked URL.
        reference = value.strip()
        if not reference:
            return queryset
        try:
            rule_id = uuid.UUID(reference)
        except ValueError:
            return queryset.filter(Q(rule__sigma_name=reference) | Q(rule__name=reference))
        return queryset.filter(Q(rule_id=rule_id) | Q(rule__sigma_id=rule_id))

    def filter_entity(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        candidates = entity_candidates(value)
        return queryset.filter(entities__overlap=candidates) if candidates else queryset.none()

    def filter_source(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(details__sources__contains=[value])

    def filter_incident(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "none":
            return queryset.filter(incident__isnull=True)
        return queryset.filter(incident__number=value)


def alert_queue_query_problems(params: QueryDict) -> list[str]:
    """What the alert queue would say of a saved view's query string (its time range,
    then its filters), or [] if it lists alerts: the check of socapp.saved_views."""
    try:
        time_range_from(params, default=None)
    except TimeRangeError as exc:
        return [f"{exc.field}: {exc.message}"]
    filters = AlertFilterSet(params, queryset=Alert.objects.none())
    return [f"{field}: {' '.join(errors)}" for field, errors in filters.errors.items()]


class IncidentFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=IncidentStatus.choices)
    priority = django_filters.MultipleChoiceFilter(choices=IncidentPriority.choices)
    team = django_filters.CharFilter(field_name="team__name")
    assigned_to = django_filters.CharFilter(
        method="filter_assigned_to", help_text='A username, "me", or "none".'
    )
    number = django_filters.CharFilter()
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title")
    open = django_filters.BooleanFilter(method="filter_open", help_text="Not closed.")

    class Meta:
        model = Incident
        fields = ["status", "priority", "team", "assigned_to", "number", "q", "open"]

    def filter_assigned_to(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "none":
            return queryset.filter(assigned_to__isnull=True)
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(assigned_to=user) if user else queryset.none()
        return queryset.filter(assigned_to__username=value)

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        closed = Q(status=IncidentStatus.CLOSED)
        return queryset.exclude(closed) if value else queryset.filter(closed)


class ResponseActionFilterSet(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="incident__number")

    class Meta:
        model = ResponseAction
        fields = ["incident", "action_type", "status"]
