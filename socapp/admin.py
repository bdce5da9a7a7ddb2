"""Users, roles, teams, tokens and the audit log in the Django admin."""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from django_celery_beat.admin import PeriodicTaskAdmin as BeatPeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .admin_mixins import AuditedAdminMixin, AuditedModelAdmin, ReadOnlyAdminMixin
from .audit import audit_record
from .jwt_sessions import jwt_session_revoke
from .models import ApiToken, AuditAnchor, AuditEntry, JwtSession, Role, Team
from .second_factor import second_factor_remove
from .services import api_token_create, api_token_revoke
from .users import User

# The beat schedule's admin comes from django-celery-beat; its bulk actions name no
# permission, so Django offers them to everyone who may see the list: the read-only
# auditor could switch off or fire any periodic task. Re-registered with those actions
# kept for users who may change periodic tasks.
SCHEDULE_ACTIONS = ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks")


class PeriodicTaskAdmin(BeatPeriodicTaskAdmin):
    def get_actions(self, request: Any) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            for name in SCHEDULE_ACTIONS:
                actions.pop(name, None)
        return actions


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, PeriodicTaskAdmin)

admin.site.site_header = "socapp administration"
admin.site.site_title = "socapp admin"
admin.site.index_title = "Users, roles, teams, sources, rules and feeds"

# Roles are Groups; show them under their own name and keep one entry for them.
admin.site.unregister(Group)
admin.site.unregister(User)


@admin.register(Role)
class RoleAdmin(AuditedAdminMixin, GroupAdmin):
    list_display = ["name", "member_count", "permission_count"]

    @admin.display(description="members")
    def member_count(self, role: Role) -> int:
        return role.user_set.count()

    @admin.display(description="permissions")
    def permission_count(self, role: Role) -> int:
        return role.permissions.count()


@admin.register(User)
class SocUserAdmin(AuditedAdminMixin, UserAdmin):
    list_display = [
        "username",
        "email",
        "first_name",
        "last_name",
        "roles",
        "team_names",
        "is_active",
        "is_staff",
        "last_login",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "groups", "teams"]

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).prefetch_related("groups", "teams")

    def get_deleted_objects(self, objs: Any, request: Any) -> Any:
        """Users named in the audit log cannot be deleted (deactivate them instead): the
        log is append-only, so the database refuses to unlink their entries, and the
        entries should keep pointing at the account anyway."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        named = (
            AuditEntry.objects.filter(actor__in=[u.pk for u in objs])
            .order_by()
            .values_list("actor__username", flat=True)
            .distinct()
        )
        protected = [*protected, *(f"{name}: named in the audit log" for name in named)]
        return deleted, counts, perms_needed, protected

    @admin.display(description="roles")
    def roles(self, user: User) -> str:
        return ", ".join(g.name for g in user.groups.all())

    @admin.display(description="teams")
    def team_names(self, user: User) -> str:
        return ", ".join(t.name for t in user.teams.all())


@admin.register(Permission)
class PermissionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every permission there is, to look up what a role grants; granted on Roles and Users."""

    list_display = ["name", "codename", "content_type"]
    list_filter = ["content_type__app_label"]
    search_fields = ["name", "codename"]
    list_select_related = ["content_type"]


@admin.register(Team)
class TeamAdmin(AuditedModelAdmin):
    list_display = ["name", "description", "member_count", "created_at"]
    search_fields = ["name", "description", "members__username"]
    filter_horizontal = ["members"]

    @admin.display(description="members")
    def member_count(self, team: Team) -> int:
        return team.members.count()


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    """Personal API tokens. Adding one shows its value once; revoking is an action."""

    list_display = [
        "lookup_prefix",
        "user",
        "name",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "state",
    ]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["user__username", "name", "lookup_prefix"]
    fields = ["user", "name", "expires_at"]
    actions = ["revoke"]
    list_select_related = ["user"]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # a token is issued and revoked, never edited

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        if token.revoked_at:
            return "revoked"
        return "expired" if token.is_expired else "active"

    def save_model(self, request: Any, obj: ApiToken, form: Any, change: bool) -> None:
        days = 90
        if obj.expires_at:
            days = max(1, (obj.expires_at - timezone.now()).days + 1)
        token, plaintext = api_token_create(
            user=obj.user, actor=request.user, expires_days=days, name=obj.name
        )
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.warning(request, f"The new token, shown only this once: {plaintext}")

    def log_addition(self, request: Any, obj: Any, message: Any) -> Any:
        # api_token_create already wrote the audit entry; keep Django's own history only.
        return admin.ModelAdmin.log_addition(self, request, obj, message)

    def has_revoke_permission(self, request: Any) -> bool:
        # Revoking changes a token: the model permission, since has_change_permission is
        # False for everyone (tokens are never edited). Without this, any staff user who
        # may list tokens (the read-only auditor) could revoke them.
        return request.user.has_perm("socapp.change_apitoken")

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request: Any, queryset: Any) -> None:
        for token in queryset.select_related("user"):
            api_token_revoke(token=token, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "seq",
        "at",
        "actor_name",
        "action",
        "object_type",
        "object_repr",
        "result",
        "remote_addr",
    ]
    list_filter = ["result", "action", "object_type"]
    search_fields = ["actor_name", "object_repr", "object_id", "action"]
    date_hierarchy = "at"


@admin.register(AuditAnchor)
class AuditAnchorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Checkpoints of the audit chain's head (manage.py audit_verify checks against them)."""

    list_display = ["at", "head_seq", "entry_count", "head_mac"]
    date_hierarchy = "at"


@admin.register(JwtSession)
class JwtSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """JWT sessions (one per password exchange): who, from where, until when; revoking
    one ends its refresh and access tokens at once."""

    list_display = ["id", "user", "created_at", "created_addr", "refreshed_at", "expires_at"]
    list_display += ["generation", "revoked_at", "revoke_reason"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "created_addr"]
    list_select_related = ["user"]
    actions = ["revoke"]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return obj is None and request.user.has_perm("socapp.change_jwtsession")

    @admin.action(description="Revoke the selected sessions", permissions=["change"])
    def revoke(self, request: Any, queryset: Any) -> None:
        for session in queryset.select_related("user"):
            jwt_session_revoke(session=session, actor=request.user, reason="revoked by an admin")
        self.message_user(request, f"Revoked {queryset.count()} session(s).")


# django-otp's own admins show TOTP secrets and let anyone with access add devices for
# others; here devices are only listed, and an admin can only take a user's second
# factor away (a lost phone: the user then enrols again) or end its back-off.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


# The same columns in the list and on the (read-only) page of one device.
SECOND_FACTOR_COLUMNS = (
    "user",
    "name",
    "confirmed",
    "created_at",
    "last_used_at",
    "throttling_failure_count",
)


@admin.register(TOTPDevice)
class SecondFactorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = SECOND_FACTOR_COLUMNS
    fields = SECOND_FACTOR_COLUMNS
    list_filter = ["confirmed"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    actions = ["remove", "reset_back_off"]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return obj is None and request.user.has_perm("otp_totp.change_totpdevice")

    @admin.action(description="Remove the second factor of these users", permissions=["change"])
    def remove(self, request: Any, queryset: Any) -> None:
        users = {device.user for device in queryset.select_related("user")}
        for user in users:
            second_factor_remove(user=user, actor=request.user)
        self.message_user(request, f"Removed the second factor of {len(users)} user(s).")

    @admin.action(description="End the back-off after wrong codes", permissions=["change"])
    def reset_back_off(self, request: Any, queryset: Any) -> None:
        for device in queryset:
            device.throttle_reset()
            audit_record(
                actor=request.user,
                action="auth.second_factor_back_off_reset",
                target=device,
                changes={"user": device.user.get_username()},
            )
        self.message_user(request, f"Reset {queryset.count()} device(s).")


# django-axes' admins: its lockout list offers "clean up expired attempts" to every staff
# user who may see it (the auditor too) and the action fails (it reads a request attribute
# only axes' login middleware sets). Here a lockout is lifted by deleting its row — a SOC
# admin's right (delete_accessattempt), audited — and the login records are evidence,
# read-only for everyone.
for _model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(AccessAttempt)
class LoginLockoutAdmin(AccessAttemptAdmin):
    actions = ["cleanup_expired_attempts"]

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request: Any, queryset: Any) -> None:
        expired = AccessAttempt.objects.filter(
            attempt_time__lt=timezone.now() - settings.AXES_COOLOFF_TIME
        )
        self.delete_queryset(request, expired)
        self.message_user(request, "Cleaned up the expired attempts.")

    def delete_model(self, request: Any, obj: AccessAttempt) -> None:
        self.delete_queryset(request, AccessAttempt.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for attempt in queryset:
            audit_record(
                actor=request.user,
                action="auth.lockout_cleared",
                target=attempt,
                changes={"username": attempt.username, "address": attempt.ip_address},
            )
        queryset.delete()


@admin.register(AccessLog)
class LoginRecordAdmin(ReadOnlyAdminMixin, AccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class LoginFailureRecordAdmin(ReadOnlyAdminMixin, AccessFailureLogAdmin):
    pass
