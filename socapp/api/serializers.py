from rest_framework import serializers

from ..models import AuditEntry, Team
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
