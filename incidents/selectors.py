"""Who sees which alerts and incidents. Every page, API view and consumer asks here.

- Alerts: the members of the alert's team; everyone with ``view_all_alerts``
  (incident managers, SOC admins, auditors).
- Incidents: the members of the incident's team, users or roles granted the object
  permission through django-guardian, and everyone with ``view_all_incidents``; its
  assignee only while they may still work it (``_related_to``). Changing one needs
  ``change_incident`` and, on top, ``manage_all_incidents`` or the same team/object-grant
  relation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from correlation.handoff import AlertState
from events.selectors import events_visible_to
from socapp.ids import is_uuid
from socapp.models import Team
from socapp.users import User

from .choices import AlertStatus, IncidentStatus, NotificationTopic
from .models import (
    Alert,
    AlertMute,
    Incident,
    IncidentEvent,
    IncidentGroupObjectPermission,
    IncidentUserObjectPermission,
    LinkedEvent,
    NotificationRule,
    Observable,
    ResponseAction,
    Severity,
)

if TYPE_CHECKING:
    from events.models import Event


def _teams_of(user: User) -> QuerySet[Team, Any]:
    return user.teams.values("pk")


def alerts_visible_to(user: User) -> QuerySet[Alert]:
    alerts = Alert.objects.select_related(
        "severity", "team", "rule", "assignee", "incident", "acknowledged_by"
    )
    if user.is_superuser or user.has_perm("incidents.view_all_alerts"):
        return alerts
    return alerts.filter(team__in=_teams_of(user))


def _granted_incident_ids(user: User, codename: str) -> Q:
    by_user = IncidentUserObjectPermission.objects.filter(
        user=user, permission__codename=codename
    ).values("content_object_id")
    by_group = IncidentGroupObjectPermission.objects.filter(
        group__in=user.groups.all(), permission__codename=codename
    ).values("content_object_id")
    return Q(pk__in=by_user) | Q(pk__in=by_group)


def _related_to(user: User, codename: str) -> Q:
    """The incidents of the user's teams, those granted to them, and, for someone who
    works every team's cases, those given to them. Being the assignee opens nothing by
    itself: an assignment that outlived its right (the assignee left the team, or was
    given the case before assignees were checked) must not keep the case and its
    evidence readable."""
    related = Q(team__in=_teams_of(user)) | _granted_incident_ids(user, codename)
    if user.has_perm("incidents.manage_all_incidents"):
        related |= Q(assigned_to=user)
    return related


def incidents_visible_to(user: User) -> QuerySet[Incident]:
    incidents = Incident.objects.select_related("team", "assigned_to", "created_by")
    if user.is_superuser or user.has_perm("incidents.view_all_incidents"):
        return incidents
    return incidents.filter(_related_to(user, "view_incident"))


def incident_can_change(user: User, incident: Incident) -> bool:
    if not user.has_perm("incidents.change_incident"):
        return False
    if user.is_superuser or user.has_perm("incidents.manage_all_incidents"):
        return True
    return Incident.objects.filter(_related_to(user, "change_incident"), pk=incident.pk).exists()


def incident_timeline(incident: Incident) -> QuerySet[IncidentEvent]:
    return incident.timeline.select_related("actor")


def response_actions_visible_to(user: User) -> QuerySet[ResponseAction]:
    return ResponseAction.objects.select_related(
        "incident", "requested_by", "performed_by", "decided_by", "connector"
    ).filter(incident__in=incidents_visible_to(user).values("pk"))


def incident_actions(incident: Incident) -> QuerySet[ResponseAction]:
    return incident.response_actions.select_related(
        "connector", "requested_by", "decided_by", "performed_by"
    )


def notification_rules_listening(topic: str) -> QuerySet[NotificationRule]:
    return NotificationRule.objects.filter(enabled=True, topics__contains=[topic])


@dataclass(frozen=True)
class Arrival:
    """What may apply to a newly raised alert, learnt in one round trip, so the common
    case (no mute, no open case, no notification rule) costs one query, not three."""

    may_be_muted: bool
    may_be_grouped: bool
    is_announced: bool


def alert_arrivals(team_ids: Iterable[Any]) -> dict[Any, Arrival]:
    """What may apply to new alerts of each of ``team_ids`` (one query for a batch)."""
    mutes = AlertMute.objects.filter(
        team=OuterRef("pk"), lifted_at__isnull=True, expires_at__gt=timezone.now()
    )
    cases = Incident.objects.filter(team=OuterRef("pk")).exclude(status=IncidentStatus.CLOSED)
    rules = notification_rules_listening(NotificationTopic.ALERT_RAISED)
    rows = (
        Team.objects.filter(pk__in=set(team_ids))
        .annotate(muted=Exists(mutes), grouped=Exists(cases), announced=Exists(rules))
        .values_list("pk", "muted", "grouped", "announced")
    )
    return {pk: Arrival(muted, grouped, announced) for pk, muted, grouped, announced in rows}


def severities_all() -> QuerySet[Severity]:
    return Severity.objects.all()


def alert_states_of_correlations(
    correlation_ids: Sequence[uuid.UUID],
) -> dict[uuid.UUID, AlertState]:
    """The alert of each of the engine's correlations that has one (the engine's
    suppression and backtest ask)."""
    rows = Alert.objects.filter(correlation_id__in=correlation_ids).values_list(
        "correlation_id", "pk", "status"
    )
    return {c: AlertState(pk, status == AlertStatus.CLOSED) for c, pk, status in rows}


def recent_alerts_of_rule(user: Any, rule_id: Any, limit: int) -> list[Alert]:
    return list(alerts_visible_to(user).filter(rule_id=rule_id).order_by("-last_seen_at")[:limit])


def alert_techniques_since(user: Any, since: datetime) -> Iterable[list[str]]:
    """The rule techniques of each alert ``user`` may see, last seen since ``since``."""
    rows = (
        alerts_visible_to(user)
        .filter(last_seen_at__gte=since)
        .values_list("rule__techniques", flat=True)
    )
    return (techniques or [] for techniques in rows)


# ---- the console's pages --------------------------------------------------------------

QUEUE_PAGE = 50
# The most rows "all N matching" changes at once: a bulk change runs in one transaction
# with an audit entry per alert, so an unbounded one could hold locks for minutes.
BULK_MATCHING_CAP = 500
# Past this the queue says "more than 10,000" rather than counting every row.
COUNT_CAP = 10_000

# Status in the order work flows, not alphabetically.
_STATUS_ORDER = Case(
    *(When(status=s, then=Value(i)) for i, s in enumerate(AlertStatus.values)),
    default=Value(len(AlertStatus.values)),
    output_field=IntegerField(),
)
# The queue's sortable columns: name -> what the database orders by. Only these names are
# accepted from the URL (anything else sorts by time).
QUEUE_SORTS: dict[str, Any] = {
    "time": F("triggered_at"),
    "severity": F("severity__level"),
    "rule": Coalesce(F("rule__name"), Value(""), output_field=CharField()),
    "status": _STATUS_ORDER,
    "count": F("count"),
}
DEFAULT_SORT = "-time"


@dataclass(frozen=True)
class QueueSort:
    """A whitelisted ``sort`` parameter: a column and a direction ("-count")."""

    column: str
    descending: bool

    @classmethod
    def parse(cls, value: str | None) -> QueueSort:
        value = (value or DEFAULT_SORT).strip()
        descending = value.startswith("-")
        column = value.lstrip("-")
        if column not in QUEUE_SORTS:
            return cls.parse(DEFAULT_SORT)
        return cls(column, descending)

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.column

    def key_text(self, alert: Alert) -> str:
        """The row's sort value as text that orders like the database does (the live
        queue places new rows by comparing these)."""
        value = getattr(alert, "queue_sort_key", None)
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, int):
            return f"{value:010d}"
        return str(value or "")


def _cursor_value(sort: QueueSort, text: str) -> Any:
    from django.utils.dateparse import parse_datetime

    if sort.column == "time":
        return parse_datetime(text)
    if sort.column == "rule":
        return text
    try:
        return int(text)
    except ValueError:
        return None


def alerts_in_queue_order(alerts: QuerySet[Alert], sort: QueueSort) -> QuerySet[Alert]:
    """``alerts`` in ``sort`` order, each with its ``queue_sort_key``; ties by id."""
    keyed = cast("QuerySet[Alert]", alerts.annotate(queue_sort_key=QUEUE_SORTS[sort.column]))
    direction = "-" if sort.descending else ""
    return keyed.order_by(f"{direction}queue_sort_key", f"{direction}id")


def alert_queue_page(
    alerts: QuerySet[Alert], before: str | None, sort: QueueSort | None = None
) -> tuple[list[Alert], str]:
    """One page of the queue in ``sort`` order (newest first by default), keyset-paginated:
    ``before`` is the cursor of the last row of the previous page ("<sort value>|<id>");
    returns the rows and the next cursor. No OFFSET, so page 1 and page 500 cost the same;
    rows with equal sort values are ordered by id, in the same direction."""
    sort = sort or QueueSort.parse(None)
    alerts = alerts_in_queue_order(alerts, sort)
    if before:
        at, _, pk = before.rpartition("|")
        value = _cursor_value(sort, at)
        if value is not None and is_uuid(pk):
            past = "lt" if sort.descending else "gt"
            beyond = Q(**{f"queue_sort_key__{past}": value})
            alerts = alerts.filter(beyond | Q(queue_sort_key=value, **{f"id__{past}": pk}))
    rows = list(alerts[: QUEUE_PAGE + 1])
    more = len(rows) > QUEUE_PAGE
    rows = rows[:QUEUE_PAGE]
    cursor = f"{sort.key_text(rows[-1])}|{rows[-1].pk}" if more else ""
    return rows, cursor


def alert_queue_count(alerts: QuerySet[Alert]) -> tuple[int, bool]:
    """How many alerts match, counted up to COUNT_CAP; the flag says there are more."""
    found = alerts.order_by()[: COUNT_CAP + 1].count()
    return min(found, COUNT_CAP), found > COUNT_CAP


def alerts_for_bulk(alerts: QuerySet[Alert], cap: int = BULK_MATCHING_CAP) -> list[Alert]:
    """The newest ``cap`` of ``alerts`` (a permission-filtered queryset): what a bulk
    change of "all matching" touches in one go."""
    return list(alerts.order_by("-triggered_at", "-id")[:cap])


# The grouped queue groups the newest GROUP_WINDOW matching alerts (so its query reads a
# bounded number of rows however many match), GROUP_PAGE groups a page, and shows up to
# GROUP_MEMBERS members of each (the filtered list shows them all).
GROUP_WINDOW = 5_000
GROUP_PAGE = 50
GROUP_MEMBERS = 10
# How groups sort: the queue's columns, by the group's newest, worst or biggest member.
GROUP_SORTS = {
    "time": "latest",
    "severity": "level",
    "count": "size",
    "rule": "rule_label",
    "status": "latest",
}


@dataclass
class AlertGroup:
    """Alerts of one rule (or, without a rule, one title) about one entity."""

    rule_id: Any
    entity: str
    size: int
    hits: int
    members: list[Alert]  # the newest GROUP_MEMBERS, newest first

    @property
    def lead(self) -> Alert:
        return self.members[0]


def alert_queue_groups(
    alerts: QuerySet[Alert], sort: QueueSort, page: int = 0
) -> tuple[list[AlertGroup], bool]:
    """One page of ``alerts`` (permission-filtered) grouped by rule and first entity,
    from the newest GROUP_WINDOW of them; returns the groups and whether more follow."""
    from django.contrib.postgres.aggregates import ArrayAgg
    from django.db.models import Count, Max, Min, Sum
    from django.db.models.functions import Cast

    window = alerts.order_by("-triggered_at").values("pk")[:GROUP_WINDOW]
    direction = "-" if sort.descending else ""
    start = max(page, 0) * GROUP_PAGE
    rows = list(
        Alert.objects.filter(pk__in=window)
        .values(
            "rule_id",
            rule_key=Coalesce(Cast("rule_id", CharField()), "title"),
            entity_key=Coalesce(F("entities__0"), Value(""), output_field=CharField()),
        )
        .annotate(
            size=Count("id"),
            hits=Sum("count"),
            latest=Max("triggered_at"),
            level=Max("severity__level"),
            rule_label=Min(Coalesce("rule__name", "title")),
            ids=ArrayAgg("id", order_by=("-triggered_at", "-id")),
        )
        .order_by(f"{direction}{GROUP_SORTS[sort.column]}", "-latest", "rule_key", "entity_key")[
            start : start + GROUP_PAGE + 1
        ]
    )
    more = len(rows) > GROUP_PAGE
    rows = rows[:GROUP_PAGE]
    wanted = [pk for row in rows for pk in row["ids"][:GROUP_MEMBERS]]
    found = {a.pk: a for a in alerts.filter(pk__in=wanted)}
    groups = []
    for row in rows:
        members = [found[pk] for pk in row["ids"][:GROUP_MEMBERS] if pk in found]
        if members:
            groups.append(
                AlertGroup(row["rule_id"], row["entity_key"], row["size"], row["hits"], members)
            )
    return groups, more


def alert_rule_names(user: User, limit: int = 1000) -> list[tuple[str, str]]:
    """(name, Sigma name) of the rules, for the queue's rule picker."""
    from correlation.selectors import rules_visible_to

    rows = rules_visible_to(user).order_by("name").values_list("name", "sigma_name")
    return list(rows[:limit])


def alerts_related(user: User, alert: Alert, limit: int = 20) -> QuerySet[Alert]:
    """Other alerts the user may see that share an entity with ``alert``."""
    if not alert.entities:
        return Alert.objects.none()
    return (
        alerts_visible_to(user)
        .filter(entities__overlap=alert.entities)
        .exclude(pk=alert.pk)
        .order_by("-last_seen_at")[:limit]
    )


def alert_events(alert: Alert, user: User, limit: int = 100) -> list[Event]:
    """The stored events behind an alert (by the correlation's links, which carry each
    event's time, so only the partitions holding them are read)."""
    pairs: list[tuple[Any, Any]] = []
    if (correlation := alert.correlation) is not None:
        pairs = list(
            correlation.event_links.order_by("event_time").values_list("event_id", "event_time")[
                :limit
            ]
        )
    if not pairs:
        return []
    times = [t for _, t in pairs]
    return list(
        events_visible_to(user)
        .filter(
            event_id__in=[e for e, _ in pairs],
            event_time__gte=min(times),
            event_time__lte=max(times),
        )
        .order_by("event_time")
    )


def alert_mutes_active(user: User) -> QuerySet[AlertMute]:
    mutes = AlertMute.objects.select_related("rule", "team", "created_by").filter(
        lifted_at__isnull=True, expires_at__gt=timezone.now()
    )
    if user.is_superuser or user.has_perm("incidents.view_all_alerts"):
        return mutes
    return mutes.filter(team__in=_teams_of(user))


def _holders_of(perm: str) -> Q:
    """Users granted ``perm`` through a role or directly (superusers aside)."""
    app_label, codename = perm.split(".")
    granted = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    user_model = get_user_model()
    by_role = user_model.groups.through.objects.filter(group__permissions__in=granted)
    by_user = user_model.user_permissions.through.objects.filter(permission__in=granted)
    return Q(pk__in=by_role.values("user_id")) | Q(pk__in=by_user.values("user_id"))


def assignable_users(target: Alert | Incident | Team) -> QuerySet[User]:
    """Who may be given ``target`` to work: active users who may change it and work its
    team's cases, as members of the team or through an all-teams permission.

    Being an incident's assignee lets one read and change it and download its
    evidence, so forms, API serializers and services all ask here. An incident is
    given by itself or, before it exists, by its team.
    """
    if isinstance(target, Alert):
        team_id = target.team_id
        work, every_team = "incidents.change_alert", "incidents.view_all_alerts"
    else:
        team_id = target.pk if isinstance(target, Team) else target.team_id
        work, every_team = "incidents.change_incident", "incidents.manage_all_incidents"
    members = Team.members.through.objects.filter(team_id=team_id).values("user_id")
    may_work = _holders_of(work) & (Q(pk__in=members) | _holders_of(every_team))
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | may_work)
        .order_by("username")
    )


def incidents_open_for_merge(user: User, team_id: Any) -> QuerySet[Incident]:
    """Open incidents an alert of ``team_id`` could be merged into."""
    return (
        incidents_visible_to(user)
        .filter(team_id=team_id)
        .exclude(status=IncidentStatus.CLOSED)
        .order_by("-created_at")
    )


def teams_user_may_open_for(user: User) -> QuerySet[Team]:
    """The teams ``user`` may open incidents for (what ``incident_create`` accepts)."""
    from socapp.models import Team

    if user.is_superuser or user.has_perm("incidents.manage_all_incidents"):
        return Team.objects.all()
    return user.teams.all()


def incident_detail(user: User, number: str) -> Incident | None:
    return (
        incidents_visible_to(user).prefetch_related("assets", "iocs").filter(number=number).first()
    )


def incident_observables(incident: Incident) -> QuerySet[Observable]:
    return incident.observables.select_related("ioc", "added_by")


def incident_alerts(incident: Incident) -> QuerySet[Alert]:
    return incident.alerts.select_related("severity", "rule").order_by("-triggered_at")


# ---- the incident's event timeline ----------------------------------------------------

EVENT_TIMELINE_PAGE = 100


@dataclass(frozen=True)
class TimelineEvent:
    """One event of an incident's event timeline. ``event`` is None when the event is no
    longer stored (retention) or is not one the reader may see; ``alert_id`` names the
    alert it came with (None: linked to the incident by hand)."""

    event_id: uuid.UUID
    event_time: datetime
    alert_id: uuid.UUID | None
    event: Event | None
    note: str  # the hand link's summary, kept when the event ages out

    @property
    def source(self) -> str:
        return self.event.source.name if self.event is not None else ""

    @property
    def event_type(self) -> str:
        return self.event.event_type if self.event is not None else ""

    @property
    def summary(self) -> str:
        return event_summary(self.event) if self.event is not None else self.note


def event_summary(event: Event, width: int = 160) -> str:
    """A short line for a timeline: who and where, then the start of the raw record."""
    parts = []
    user = (event.normalized_data.get("user") or {}) if event.normalized_data else {}
    if isinstance(user, dict) and user.get("name"):
        parts.append(f"user {user['name']}")
    if event.source_ip:
        target = f" → {event.dest_ip}" if event.dest_ip else ""
        port = f":{event.dest_port}" if event.dest_ip and event.dest_port else ""
        parts.append(f"{event.source_ip}{target}{port}")
    raw = " ".join(event.raw_data.split())
    line = " · ".join([*parts, raw]) if raw else " · ".join(parts)
    return line if len(line) <= width else f"{line[: width - 1]}…"


def _incident_event_keys(incident: Incident) -> QuerySet[Any]:
    """(event id, event time) of every event behind the incident's alerts and every
    event linked to it by hand, without repeats."""
    by_alerts = (
        Alert.objects.filter(incident=incident, correlation__event_links__isnull=False)
        .annotate(
            key_id=F("correlation__event_links__event_id"),
            key_time=F("correlation__event_links__event_time"),
        )
        .values_list("key_id", "key_time")
    )
    by_hand = (
        LinkedEvent.objects.filter(incident=incident)
        .annotate(key_id=F("event_id"), key_time=F("event_time"))
        .values_list("key_id", "key_time")
    )
    return by_alerts.union(by_hand)


def incident_event_timeline(
    incident: Incident, user: User, *, offset: int = 0, limit: int = EVENT_TIMELINE_PAGE
) -> tuple[list[TimelineEvent], int]:
    """A page of the incident's events in time order (oldest first) and how many there
    are in all. Events are read by their keys, so only the partitions concerned are."""
    keys = _incident_event_keys(incident)
    total = keys.count()
    page = list(keys.order_by("key_time", "key_id")[offset : offset + limit])
    if not page:
        return [], total
    ids = [event_id for event_id, _ in page]
    times = [moment for _, moment in page]
    stored = {
        event.event_id: event
        for event in events_visible_to(user)
        .select_related("source")
        .filter(event_id__in=ids, event_time__gte=min(times), event_time__lte=max(times))
    }
    alerts = dict(
        Alert.objects.filter(incident=incident, correlation__event_links__event_id__in=ids)
        .order_by("triggered_at")
        .values_list("correlation__event_links__event_id", "pk")
    )
    notes = dict(
        LinkedEvent.objects.filter(incident=incident, event_id__in=ids).values_list(
            "event_id", "summary"
        )
    )
    rows = [
        TimelineEvent(
            event_id=event_id,
            event_time=moment,
            alert_id=alerts.get(event_id),
            event=stored.get(event_id),
            note=notes.get(event_id, ""),
        )
        for event_id, moment in page
    ]
    return rows, total


def incident_event_keys(incident: Incident, limit: int = 500) -> list[tuple[Any, Any]]:
    """(event id, event time) of the incident's events, at most ``limit``."""
    return list(_incident_event_keys(incident)[:limit])
