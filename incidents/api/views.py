from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from socapp.api.parsers import MultiPartParser
from socapp.api.viewsets import AuditedReadMixin, ReadOnlyViewSet
from socapp.users import user_of

from .. import services
from ..choices import SettleOutcome
from ..downloads import evidence_response
from ..filters import AlertFilterSet, IncidentFilterSet, ResponseActionFilterSet
from ..models import Alert, AlertMute, Incident, ResponseAction
from ..selectors import (
    EVENT_TIMELINE_PAGE,
    alert_mutes_active,
    alerts_related,
    alerts_visible_to,
    assignable_users,
    incident_actions,
    incident_can_change,
    incident_event_timeline,
    incident_observables,
    incident_timeline,
    incidents_visible_to,
    response_actions_visible_to,
    severities_all,
)
from .lookup import IncidentLookupMixin
from .serializers import (
    ActionDecisionSerializer,
    ActionRequestSerializer,
    ActionSettleSerializer,
    AlertMuteSerializer,
    AlertSerializer,
    AlertTriageSerializer,
    CommentSerializer,
    EscalateSerializer,
    EventTimelinePageSerializer,
    EvidenceSerializer,
    EvidenceUploadSerializer,
    IncidentAssignSerializer,
    IncidentCommentSerializer,
    IncidentEventSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    LinkAlertsSerializer,
    MuteRequestSerializer,
    ObservableAddSerializer,
    ObservableSerializer,
    ResponseActionSerializer,
    SeveritySerializer,
    TaskSerializer,
    TaskUpdateSerializer,
)


class SeverityViewSet(ReadOnlyViewSet):
    queryset = severities_all()
    serializer_class = SeveritySerializer
    pagination_class = None


class AlertViewSet(
    AuditedReadMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Alerts the caller may see; PATCH triages one (status, close reason, assignee,
    severity)."""

    queryset = Alert.objects.none()  # the model, for permissions and the schema
    audit_kind = "alert"
    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet
    ordering_fields = ["triggered_at", "last_seen_at", "severity__level", "count"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "comments": {"GET": ["incidents.view_alert"], "*": ["incidents.change_alert"]},
        "mute": ["incidents.change_alert"],
        "escalate": ["incidents.change_alert", "incidents.add_incident"],
    }

    def get_queryset(self) -> QuerySet[Alert]:
        return alerts_visible_to(user_of(self.request))

    @extend_schema(request=AlertTriageSerializer, responses=AlertSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        alert = self.get_object()
        triage = AlertTriageSerializer(
            data=request.data, context={"assignees": assignable_users(alert)}
        )
        triage.is_valid(raise_exception=True)
        data = triage.validated_data
        alert = services.alert_update(
            alert=alert,
            actor=user_of(request),
            status=data.get("status"),
            close_reason=data.get("close_reason"),
            assignee=data.get("assignee"),
            unassign="assignee" in data and data["assignee"] is None,
            severity=data.get("severity"),
        )
        return Response(AlertSerializer(alert).data)

    @extend_schema(methods=["GET"], responses=CommentSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=CommentSerializer, responses={201: CommentSerializer(many=True)}
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def comments(self, request: Request, pk: str | None = None) -> Response:
        """The alert's comments; POST adds one."""
        alert = self.get_object()
        if request.method == "POST":
            body = CommentSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            services.alert_comment(
                alert=alert, actor=user_of(request), body=body.validated_data["body"]
            )
        comments = alert.comments.select_related("author")
        code = status.HTTP_201_CREATED if request.method == "POST" else status.HTTP_200_OK
        return Response(CommentSerializer(comments, many=True).data, status=code)

    @extend_schema(request=MuteRequestSerializer, responses={201: AlertMuteSerializer})
    @action(detail=True, methods=["post"])
    def mute(self, request: Request, pk: str | None = None) -> Response:
        """Mute alerts like this one (its rule and entities) for a while; the open ones
        are closed with reason "muted"."""
        alert = self.get_object()
        body = MuteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        mute = services.alert_mute(
            alert=alert,
            actor=user_of(request),
            duration=timedelta(minutes=body.validated_data["minutes"]),
            reason=body.validated_data["reason"],
        )
        return Response(AlertMuteSerializer(mute).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EscalateSerializer, responses={201: IncidentSerializer})
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        """Open a new incident from this alert."""
        alert = self.get_object()
        body = EscalateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        incident = services.incident_escalate(
            alert=alert,
            actor=user_of(request),
            title=data.get("title", ""),
            priority=data.get("priority"),
            incident_type=data["incident_type"],
        )
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=AlertSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def related(self, request: Request, pk: str | None = None) -> Response:
        """Other alerts sharing an entity with this one (newest first, at most 20)."""
        alert = self.get_object()
        return Response(AlertSerializer(alerts_related(user_of(request), alert), many=True).data)


class AlertMuteViewSet(ReadOnlyViewSet):
    """Active mutes of the teams the caller sees; POST …/lift/ ends one early."""

    queryset = AlertMute.objects.none()
    serializer_class = AlertMuteSerializer
    # Mutes go with the alert permissions (there is no separate right for them).
    action_permissions = {
        "list": ["incidents.view_alert"],
        "retrieve": ["incidents.view_alert"],
        "lift": ["incidents.change_alert"],
    }

    def get_queryset(self) -> QuerySet[AlertMute]:
        return alert_mutes_active(user_of(self.request))

    @extend_schema(request=None, responses=AlertMuteSerializer)
    @action(detail=True, methods=["post"])
    def lift(self, request: Request, pk: str | None = None) -> Response:
        mute = services.alert_mute_lift(mute=self.get_object(), actor=user_of(request))
        return Response(AlertMuteSerializer(mute).data)


class IncidentViewSet(
    IncidentLookupMixin,
    AuditedReadMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Incident.objects.none()
    audit_kind = "incident"
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet
    ordering_fields = ["created_at", "updated_at", "priority", "status"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "assign": ["incidents.change_incident", "incidents.assign_incident"],
        "alerts": {"*": ["incidents.change_incident"]},
        "comments": {"GET": ["incidents.view_incident"], "*": ["incidents.change_incident"]},
        "tasks": {"GET": ["incidents.view_incident"], "*": ["incidents.change_incident"]},
        "evidence": {"GET": ["incidents.view_incident"], "*": ["incidents.change_incident"]},
        "evidence_download": ["incidents.view_incident"],
        "observables": {
            "GET": ["incidents.view_incident"],
            "*": ["incidents.change_incident", "intel.add_ioc"],
        },
        "event_timeline": ["incidents.view_incident"],
        "actions": {"GET": ["incidents.view_incident"], "*": ["incidents.add_responseaction"]},
    }

    def get_queryset(self) -> QuerySet[Incident]:
        return incidents_visible_to(user_of(self.request))

    def _require_change(self, incident: Incident) -> None:
        if not incident_can_change(user_of(self.request), incident):
            raise PermissionDenied("You may read this incident but not change it.")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = IncidentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        incident = services.incident_create(
            actor=user_of(request),
            title=data["title"],
            team=data["team"],
            description=data.get("description", ""),
            priority=data.get("priority", "medium"),
            tlp=data.get("tlp"),
            incident_type=data.get("incident_type", "other"),
        )
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentUpdateSerializer, responses=IncidentSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.get_object()
        self._require_change(incident)
        changes = IncidentUpdateSerializer(incident, data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        data = dict(changes.validated_data)
        close_open_tasks = bool(data.pop("close_open_tasks", False))
        incident = services.incident_update(
            incident=incident, actor=user_of(request), close_open_tasks=close_open_tasks, **data
        )
        return Response(IncidentSerializer(incident).data)

    @extend_schema(request=IncidentAssignSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        self._require_change(incident)
        body = IncidentAssignSerializer(
            data=request.data, context={"assignees": assignable_users(incident)}
        )
        body.is_valid(raise_exception=True)
        incident = services.incident_assign(
            incident=incident, assignee=body.validated_data["assignee"], actor=user_of(request)
        )
        return Response(IncidentSerializer(incident).data)

    @extend_schema(responses=IncidentEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        return Response(IncidentEventSerializer(incident_timeline(incident), many=True).data)

    def _changeable(self) -> Incident:
        incident = self.get_object()
        if self.request.method != "GET":
            self._require_change(incident)
        return incident

    @extend_schema(request=LinkAlertsSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def alerts(self, request: Request, pk: str | None = None) -> Response:
        """Merge alerts (ids) into this incident."""
        incident = self._changeable()
        body = LinkAlertsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        wanted = body.validated_data["alerts"]
        found = list(alerts_visible_to(user_of(request)).filter(pk__in=wanted))
        if len(found) != len(set(wanted)):
            raise ValidationError(
                {"alerts": "Some of these alerts do not exist or are not visible to you."}
            )
        services.incident_add_alerts(incident=incident, alerts=found, actor=user_of(request))
        incident.refresh_from_db()
        return Response(IncidentSerializer(incident).data)

    @extend_schema(methods=["GET"], responses=IncidentCommentSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=CommentSerializer,
        responses={201: IncidentCommentSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def comments(self, request: Request, pk: str | None = None) -> Response:
        """The incident's comments, with those its alerts brought along (``from_alert``);
        POST adds one."""
        incident = self._changeable()
        if request.method == "POST":
            body = CommentSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            services.incident_comment(
                incident=incident, actor=user_of(request), body=body.validated_data["body"]
            )
        code = status.HTTP_201_CREATED if request.method == "POST" else status.HTTP_200_OK
        comments = incident.comments.select_related("author")
        return Response(IncidentCommentSerializer(comments, many=True).data, status=code)

    @extend_schema(methods=["GET"], responses=ObservableSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=ObservableAddSerializer,
        responses={201: ObservableSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def observables(self, request: Request, pk: str | None = None) -> Response:
        """The incident's observables (from its alerts' entities and added by analysts);
        POST adds one: the value is validated and normalized, and its IOC is found in
        threat intel or created in the "analyst" source."""
        incident = self._changeable()
        if request.method == "POST":
            body = ObservableAddSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
            services.observable_add(
                incident=incident,
                actor=user_of(request),
                kind=data["kind"],
                value=data["value"],
                description=data.get("description", ""),
            )
        code = status.HTTP_201_CREATED if request.method == "POST" else status.HTTP_200_OK
        rows = incident_observables(incident)
        return Response(ObservableSerializer(rows, many=True).data, status=code)

    @extend_schema(
        parameters=[
            OpenApiParameter("offset", int, description="Skip this many events (default 0)."),
            OpenApiParameter("limit", int, description="At most this many (1-500, default 100)."),
        ],
        responses=EventTimelinePageSerializer,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="event-timeline",
        pagination_class=None,
        filterset_class=None,
    )
    def event_timeline(self, request: Request, pk: str | None = None) -> Response:
        """The events behind the incident's alerts and those linked to it by hand, oldest
        first, a page at a time; ``count`` says how many there are in all."""
        incident = self.get_object()
        offset = _bounded_int(request, "offset", 0, 0, 10**9)
        limit = _bounded_int(request, "limit", EVENT_TIMELINE_PAGE, 1, 500)
        rows, total = incident_event_timeline(
            incident, user_of(request), offset=offset, limit=limit
        )
        page = {"count": total, "offset": offset, "results": rows}
        return Response(EventTimelinePageSerializer(page).data)

    @extend_schema(methods=["GET"], responses=ResponseActionSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=ActionRequestSerializer,
        responses={201: ResponseActionSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def actions(self, request: Request, pk: str | None = None) -> Response:
        """The incident's response actions; POST requests one (it runs, or waits for an
        incident manager's approval when the incident's priority asks for it)."""
        incident = self.get_object()
        if request.method == "POST":
            body = ActionRequestSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
            services.action_request(
                incident=incident,
                actor=user_of(request),
                action_type=data["action_type"],
                connector=data.get("connector"),
                parameters=data.get("parameters") or {},
                description=data.get("description", ""),
            )
        code = status.HTTP_201_CREATED if request.method == "POST" else status.HTTP_200_OK
        actions = incident_actions(incident)
        return Response(ResponseActionSerializer(actions, many=True).data, status=code)

    @extend_schema(methods=["GET"], responses=TaskSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=TaskSerializer, responses={201: TaskSerializer(many=True)}
    )
    @extend_schema(
        methods=["PATCH"], request=TaskUpdateSerializer, responses=TaskSerializer(many=True)
    )
    @action(
        detail=True, methods=["get", "post", "patch"], pagination_class=None, filterset_class=None
    )
    def tasks(self, request: Request, pk: str | None = None) -> Response:
        """The incident's tasks; POST adds one, PATCH changes one (``task``: its id)."""
        incident = self._changeable()
        assignees = {"assignees": assignable_users(incident)}
        if request.method == "POST":
            body = TaskSerializer(data=request.data, context=assignees)
            body.is_valid(raise_exception=True)
            data = body.validated_data
            services.task_add(
                incident=incident,
                actor=user_of(request),
                title=data["title"],
                description=data.get("description", ""),
                assignee=data.get("assignee"),
            )
        elif request.method == "PATCH":
            changes = TaskUpdateSerializer(data=request.data, context=assignees)
            changes.is_valid(raise_exception=True)
            data = changes.validated_data
            task = get_object_or_404(incident.tasks, pk=data["task"])
            services.task_update(
                task=task,
                actor=user_of(request),
                status=data.get("status"),
                assignee=data.get("assignee"),
            )
        code = status.HTTP_201_CREATED if request.method == "POST" else status.HTTP_200_OK
        tasks = incident.tasks.select_related("assignee", "completed_by")
        return Response(TaskSerializer(tasks, many=True).data, status=code)

    @extend_schema(methods=["GET"], responses=EvidenceSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceSerializer(many=True)},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        pagination_class=None,
        filterset_class=None,
        parser_classes=[MultiPartParser],
    )
    def evidence(self, request: Request, pk: str | None = None) -> Response:
        """Evidence files (metadata); POST uploads one (multipart, field ``file``)."""
        incident = self._changeable()
        if request.method == "POST":
            body = EvidenceUploadSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            upload = body.validated_data["file"]
            services.evidence_add(
                incident=incident,
                actor=user_of(request),
                name=upload.name,
                content=upload,
                content_type=upload.content_type or "",
                description=body.validated_data.get("description", ""),
            )
        code = status.HTTP_201_CREATED if request.method == "POST" else status.HTTP_200_OK
        files = incident.evidence.select_related("uploaded_by")
        return Response(EvidenceSerializer(files, many=True).data, status=code)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as a download."
            )
        }
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"evidence/(?P<evidence_id>[0-9a-f-]{36})",
        filterset_class=None,
        pagination_class=None,
    )
    def evidence_download(
        self, request: Request, pk: str | None = None, evidence_id: str | None = None
    ) -> FileResponse:
        incident = self.get_object()
        evidence = get_object_or_404(incident.evidence, pk=evidence_id)
        return evidence_response(evidence, user_of(request))


def _bounded_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: "A whole number."}) from None
    if not low <= value <= high:
        raise ValidationError({name: f"Between {low} and {high}."})
    return value


class ResponseActionViewSet(AuditedReadMixin, ReadOnlyViewSet):
    queryset = ResponseAction.objects.none()
    audit_kind = "responseaction"
    serializer_class = ResponseActionSerializer
    filterset_class = ResponseActionFilterSet
    action_permissions = {
        "approve": ["incidents.approve_responseaction"],
        "reject": ["incidents.approve_responseaction"],
        "settle": ["incidents.approve_responseaction", "incidents.change_responseaction"],
    }

    def get_queryset(self) -> QuerySet[ResponseAction]:
        return response_actions_visible_to(user_of(self.request))

    def _decide(self, request: Request, approve: bool) -> Response:
        action = self.get_object()
        body = ActionDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = body.validated_data.get("note", "")
        services.action_decide(action=action, actor=user_of(request), approve=approve, note=note)
        action.refresh_from_db()
        return Response(ResponseActionSerializer(action).data)

    @extend_schema(request=ActionDecisionSerializer, responses=ResponseActionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve an action waiting for approval; it runs at once (incident managers)."""
        return self._decide(request, approve=True)

    @extend_schema(request=ActionDecisionSerializer, responses=ResponseActionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Reject an action waiting for approval; it never runs."""
        return self._decide(request, approve=False)

    @extend_schema(request=ActionSettleSerializer, responses=ResponseActionSerializer)
    @action(detail=True, methods=["post"])
    def settle(self, request: Request, pk: str | None = None) -> Response:
        """Settle an action left running by a worker that died.

        Once it has run longer than RESPONSE_STUCK_MINUTES an incident manager settles it
        as failed, or as succeeded when they verified the effect by hand, with a note
        saying what they checked. An action that is not running, or started too
        recently, is 400 with the reason."""
        action = self.get_object()
        body = ActionSettleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.action_settle(
            action=action,
            actor=user_of(request),
            succeeded=data["outcome"] == SettleOutcome.SUCCEEDED,
            note=data["note"],
        )
        return Response(ResponseActionSerializer(action).data)
