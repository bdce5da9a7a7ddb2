from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.viewsets import ReadOnlyViewSet
from ..filters import AuditEntryFilterSet
from ..models import AuditEntry, Team
from ..pagination import NewestFirstCursorPagination
from ..permissions import IsAuthenticatedWithRole
from ..selectors import audit_log
from .serializers import AuditEntrySerializer, MeSerializer, TeamSerializer, UserSerializer

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
