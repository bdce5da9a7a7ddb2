from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.viewsets import ReadOnlyViewSet
from ..models import Team
from ..permissions import IsAuthenticatedWithRole
from .serializers import MeSerializer, TeamSerializer, UserSerializer

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
