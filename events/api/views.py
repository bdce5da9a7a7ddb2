from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from socapp.api.viewsets import AuditedModelViewSet, ReadOnlyViewSet
from socapp.pagination import NewestFirstCursorPagination
from socapp.users import user_of

from ..filters import EventFilterSet, EventTypeFilterSet, SourceFilterSet
from ..models import Event, EventAttribute, QuarantinedRecord, Source
from ..search import QueryError
from ..selectors import event_types_all, events_search, events_visible_to, sources_visible_to
from ..services import source_issue_token
from .serializers import (
    EventAttributeSerializer,
    EventSerializer,
    EventTypeSerializer,
    QuarantinedRecordSerializer,
    SearchParamsSerializer,
    SearchResultSerializer,
    SourceCreatedSerializer,
    SourceSerializer,
    SourceTokenSerializer,
)


class SourceViewSet(AuditedModelViewSet):
    """Log sources. Creating one returns its ingest token once (``ingest_token``);
    ``POST /sources/{id}/token/`` issues a new one (the old one stops working)."""

    queryset = Source.objects.none()
    serializer_class = SourceSerializer
    filterset_class = SourceFilterSet
    ordering_fields = ["name", "last_seen", "created_at"]

    action_permissions = {"token": ["events.change_source"]}

    def get_queryset(self) -> QuerySet[Source]:
        return sources_visible_to(user_of(self.request))

    @extend_schema(responses={201: SourceCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        source = serializer.instance
        assert isinstance(source, Source)  # perform_create saved it
        token = source_issue_token(source=source, actor=user_of(request))
        body = SourceCreatedSerializer(source).data
        body["ingest_token"] = token
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: SourceTokenSerializer})
    @action(detail=True, methods=["post"])
    def token(self, request: Request, pk: str | None = None) -> Response:
        source = self.get_object()
        token = source_issue_token(source=source, actor=user_of(request))
        return Response({"ingest_token": token}, status=status.HTTP_201_CREATED)


class EventTypeViewSet(AuditedModelViewSet):
    queryset = event_types_all()
    serializer_class = EventTypeSerializer
    filterset_class = EventTypeFilterSet
    ordering_fields = ["name", "created_at"]


class EventPagination(NewestFirstCursorPagination):
    ordering = "-event_time"


class EventViewSet(ReadOnlyViewSet):
    """Stored events, newest first. Events are written only by ingestion."""

    queryset = Event.objects.none()
    serializer_class = EventSerializer
    filterset_class = EventFilterSet
    lookup_field = "event_id"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    pagination_class = EventPagination
    ordering_fields: list[str] = []  # the cursor fixes the order

    def get_queryset(self) -> QuerySet[Event]:
        return events_visible_to(user_of(self.request))

    @extend_schema(responses=EventAttributeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def attributes(self, request: Request, event_id: str | None = None) -> Response:
        event = self.get_object()
        rows = EventAttribute.objects.filter(event_id=event.event_id, event_time=event.event_time)
        return Response(EventAttributeSerializer(rows, many=True).data)

    @extend_schema(parameters=[SearchParamsSerializer], responses=SearchResultSerializer)
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def search(self, request: Request) -> Response:
        """Events matching a query of the search language over a time range, newest
        first, cursor-paginated. A query that does not parse is a 400 naming the column."""
        params = SearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            page = events_search(
                user_of(request),
                query=data["q"],
                since=data["since"],
                until=data["until"],
                cursor=data["cursor"],
                limit=data["limit"],
            )
        except QueryError as exc:
            raise ValidationError({"q": [str(exc)]}) from exc
        return Response(
            {
                "results": EventSerializer(page.events, many=True).data,
                "next_cursor": page.next_cursor,
                "searched_back_to": page.searched_back_to,
            }
        )


class QuarantineViewSet(ReadOnlyViewSet):
    """Records that could not be parsed: raw text, source, parser and reason."""

    queryset = QuarantinedRecord.objects.select_related("source")
    serializer_class = QuarantinedRecordSerializer
    filterset_fields = ["parser", "source__name"]
    ordering_fields = ["received_at"]
