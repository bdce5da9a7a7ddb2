from rest_framework import serializers

from ..models import AuditEntry, SavedView, Team
from ..saved_views import NAME_MAX_CHARS, QUERY_MAX_CHARS
from ..users import User


class TeamSerializer(serializers.ModelSerializer):
    members = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "description", "members", "created_at"]


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.SlugRelatedField(
        source="groups", slug_field="name", many=True, read_only=True
    )
    teams = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    full_name = serializers.CharField(source="get_full_name", read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "email",
            "roles",
            "teams",
            "is_active",
            "last_login",
        ]


class MeSerializer(UserSerializer):
    permissions = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "is_superuser", "permissions"]

    def get_permissions(self, user: User) -> list[str]:
        return sorted(user.get_all_permissions())


class AuditEntrySerializer(serializers.ModelSerializer):
    """Every field of the entry, as stored (the MACs too, to check the chain by hand);
    fields added to AuditEntry appear here without a change."""

    class Meta:
        model = AuditEntry
        fields = "__all__"
        read_only_fields = [f.name for f in AuditEntry._meta.concrete_fields]


QUERY_HELP = (
    "The page's query string, without the '?': what its URL carries, e.g. "
    "`status=open&severity=high` (alerts) or `q=destination.port%3A22&range=24h` (events). "
    "It must be one the page accepts: a search query that parses, a known status."
)


# The pages that keep saved views (their apps register them: socapp.saved_views); a
# test keeps the two the same.
SAVED_VIEW_PAGES = [(p.value, p.label) for p in (SavedView.Page.ALERTS, SavedView.Page.EVENTS)]


class SavedViewSerializer(serializers.ModelSerializer):
    page = serializers.ChoiceField(choices=SAVED_VIEW_PAGES)
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="The username of its owner."
    )
    name = serializers.CharField(max_length=NAME_MAX_CHARS)
    query = serializers.CharField(
        max_length=QUERY_MAX_CHARS, allow_blank=True, trim_whitespace=False, help_text=QUERY_HELP
    )

    class Meta:
        model = SavedView
        fields = ["id", "page", "name", "query", "shared", "owner", "created_at"]
        read_only_fields = ["id", "owner", "created_at"]


class SavedViewUpdateSerializer(serializers.Serializer):
    """A view's page stays; its name, query and sharing change (PATCH: any of them)."""

    name = serializers.CharField(max_length=NAME_MAX_CHARS)
    query = serializers.CharField(
        max_length=QUERY_MAX_CHARS, allow_blank=True, trim_whitespace=False, help_text=QUERY_HELP
    )
    shared = serializers.BooleanField(required=False)
