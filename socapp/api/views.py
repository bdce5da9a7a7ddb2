from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.viewsets import ReadOnlyViewSet
from ..filters import AuditEntryFilterSet, SavedViewFilterSet
from ..models import AuditEntry, SavedView, Team
from ..pagination import NewestFirstCursorPagination
from ..permissions import IsAuthenticatedWithRole
from ..selectors import audit_log, saved_views_visible_to
from ..services import saved_view_create, saved_view_delete, saved_view_update
from ..users import user_of
from .serializers import (
    AuditEntrySerializer,
    MeSerializer,
    SavedViewSerializer,
    SavedViewUpdateSerializer,
    TeamSerializer,
    UserSerializer,
)

User = get_user_model()


class TeamViewSet(ReadOnlyViewSet):
    """Teams and their members (managed by admins in the Django admin)."""

    queryset = Team.objects.prefetch_related("members").order_by("name")
    serializer_class = TeamSerializer
    filterset_fields = ["name"]


class UserViewSet(ReadOnlyViewSet):
    """Active users, their roles and teams (for assignee pickers and integrations)."""

    queryset = (
        User.objects.filter(is_active=True).prefetch_related("groups", "teams").order_by("username")
    )
    serializer_class = UserSerializer
    filterset_fields = ["username"]
    ordering_fields = ["username"]


class MeView(APIView):
    """Who the caller is: roles, teams and effective permissions."""

    permission_classes = [IsAuthenticatedWithRole]

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class AuditPagination(NewestFirstCursorPagination):
    ordering = "-seq"


class AuditEntryViewSet(ReadOnlyViewSet):
    """The audit log, newest first, read-only: every change (and access) socapp records,
    with its actor, address, object and changes. For auditors and SOC admins
    (``socapp.view_auditentry``); anyone else gets 403."""

    queryset = AuditEntry.objects.none()  # the model, for permissions and the schema
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    pagination_class = AuditPagination
    ordering_fields: list[str] = []  # the cursor fixes the order

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return audit_log()


class SavedViewViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Saved views of the console's pages (the alert queue, event search): the caller's
    own and those others shared, of each page the caller may open, as the pages list
    them. Anyone with a role keeps their own; only its owner changes or deletes a view
    (another's shared view: 403; another's private view does not exist: 404). A query
    the page would not accept is a 400 that says why. Changes are audited."""

    queryset = SavedView.objects.none()  # the model, for the schema
    serializer_class = SavedViewSerializer
    # Views are personal: no model permission, the pages' rules (socapp.saved_views).
    permission_classes = [IsAuthenticatedWithRole]
    filterset_class = SavedViewFilterSet
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[SavedView]:
        return saved_views_visible_to(user_of(self.request))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = SavedViewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        view = saved_view_create(
            owner=user_of(request),
            page=data["page"],
            name=data["name"],
            query=data["query"],
            shared=data.get("shared", False),
        )
        return Response(SavedViewSerializer(view).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SavedViewUpdateSerializer, responses=SavedViewSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view = self.get_object()
        body = SavedViewUpdateSerializer(data=request.data, partial=kwargs.get("partial", False))
        body.is_valid(raise_exception=True)
        view = saved_view_update(view=view, actor=user_of(request), **body.validated_data)
        return Response(SavedViewSerializer(view).data)

    @extend_schema(request=SavedViewUpdateSerializer, responses=SavedViewSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        saved_view_delete(view=self.get_object(), actor=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
