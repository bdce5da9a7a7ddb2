from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from socapp.api.viewsets import ReadOnlyViewSet

from .. import services
from ..filters import AlertFilterSet, IncidentFilterSet, ResponseActionFilterSet
from ..models import Alert, Incident, ResponseAction
from ..selectors import (
    alerts_visible_to,
    incident_can_change,
    incident_timeline,
    incidents_visible_to,
    response_actions_visible_to,
    severities_all,
)
from .serializers import (
    AlertSerializer,
    AlertTriageSerializer,
    IncidentAssignSerializer,
    IncidentEventSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    ResponseActionSerializer,
    SeveritySerializer,
)


class SeverityViewSet(ReadOnlyViewSet):
    queryset = severities_all()
    serializer_class = SeveritySerializer
    pagination_class = None


class AlertViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Alerts the caller may see; PATCH triages one (status, close reason, assignee,
    severity)."""

    queryset = Alert.objects.none()  # the model, for permissions and the schema
    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet
    ordering_fields = ["triggered_at", "last_seen_at", "severity__level", "count"]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return alerts_visible_to(self.request.user)

    @extend_schema(request=AlertTriageSerializer, responses=AlertSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        alert = self.get_object()
        triage = AlertTriageSerializer(data=request.data)
        triage.is_valid(raise_exception=True)
        data = triage.validated_data
        alert = services.alert_update(
            alert=alert,
            actor=request.user,
            status=data.get("status"),
            close_reason=data.get("close_reason"),
            assignee=data.get("assignee"),
            unassign="assignee" in data and data["assignee"] is None,
            severity=data.get("severity"),
        )
        return Response(AlertSerializer(alert).data)


class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Incident.objects.none()
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet
    ordering_fields = ["created_at", "updated_at", "priority", "status"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "assign": ["incidents.change_incident", "incidents.assign_incident"],
    }

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return incidents_visible_to(self.request.user)

    def _require_change(self, incident) -> None:  # type: ignore[no-untyped-def]
        if not incident_can_change(self.request.user, incident):
            raise PermissionDenied("You may read this incident but not change it.")

    def create(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        serializer = IncidentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            incident = services.incident_create(
                actor=request.user,
                title=data["title"],
                team=data["team"],
                description=data.get("description", ""),
                priority=data.get("priority", "medium"),
                tlp=data.get("tlp"),
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentUpdateSerializer, responses=IncidentSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        incident = self.get_object()
        self._require_change(incident)
        changes = IncidentUpdateSerializer(incident, data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        incident = services.incident_update(
            incident=incident, actor=request.user, **changes.validated_data
        )
        return Response(IncidentSerializer(incident).data)

    @extend_schema(request=IncidentAssignSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        self._require_change(incident)
        body = IncidentAssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        incident = services.incident_assign(
            incident=incident, assignee=body.validated_data["assignee"], actor=request.user
        )
        return Response(IncidentSerializer(incident).data)

    @extend_schema(responses=IncidentEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        incident = self.get_object()
        return Response(IncidentEventSerializer(incident_timeline(incident), many=True).data)


class ResponseActionViewSet(ReadOnlyViewSet):
    queryset = ResponseAction.objects.none()
    serializer_class = ResponseActionSerializer
    filterset_class = ResponseActionFilterSet

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return response_actions_visible_to(self.request.user)
