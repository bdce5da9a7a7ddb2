from typing import Any

from django import forms
from django.contrib import admin
from guardian.admin import GuardedModelAdminMixin

from socapp.admin_mixins import AuditedModelAdmin, AuditedReadsMixin, ReadOnlyAdminMixin

from .models import (
    Alert,
    AlertMute,
    CaseTemplate,
    Connector,
    Evidence,
    Incident,
    IncidentEvent,
    NotificationDelivery,
    NotificationRule,
    ResponseAction,
    Severity,
)
from .services.assignment import require_assignable


class AssigneeAdminForm(forms.ModelForm):
    """The rule every assignment obeys (services.assignment, ``assignable_users``) holds
    in the admin's change forms too: an assignee reads the case and its evidence, so a
    user who cannot work the team's cases is a form error here as on the console's pages.
    Checked when the assignee or the team changes (an edit of another field keeps an
    assignee given earlier)."""

    assignee_field = ""

    def assignment_target(self, team: Any) -> Any:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        field = self.assignee_field
        assignee, team = cleaned.get(field), cleaned.get("team")
        changed = field in self.changed_data or "team" in self.changed_data
        if assignee is not None and team is not None and changed:
            require_assignable(self.assignment_target(team), assignee, field=field)
        return cleaned


class AlertAdminForm(AssigneeAdminForm):
    assignee_field = "assignee"

    def assignment_target(self, team: Any) -> Alert:
        return Alert(team=team)  # assignable_users reads the alert's team


class IncidentAdminForm(AssigneeAdminForm):
    assignee_field = "assigned_to"

    def assignment_target(self, team: Any) -> Any:
        return team  # an incident is given by its team


@admin.register(Severity)
class SeverityAdmin(AuditedModelAdmin):
    list_display = ["name", "level", "color_code", "description"]
    search_fields = ["name", "description"]


@admin.register(Alert)
class AlertAdmin(AuditedReadsMixin, AuditedModelAdmin):
    form = AlertAdminForm
    read_action = "alert"
    list_display = [
        "title",
        "severity",
        "status",
        "team",
        "assignee",
        "rule",
        "count",
        "triggered_at",
        "last_seen_at",
    ]
    list_filter = ["status", "severity", "team", "close_reason"]
    search_fields = ["title", "description", "group_key"]
    list_select_related = ["severity", "team", "assignee", "rule"]
    raw_id_fields = ["correlation", "rule", "incident", "muted_by"]
    date_hierarchy = "triggered_at"


class IncidentEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = IncidentEvent
    fields = readonly_fields = ("created_at", "kind", "actor", "data")
    extra = 0


# Guardian's mixin declares change_form_template an instance variable, ModelAdmin's stubs
# a class variable: the ignore is for that disagreement between the two.
@admin.register(Incident)
class IncidentAdmin(AuditedReadsMixin, GuardedModelAdminMixin, AuditedModelAdmin):  # type: ignore[misc]
    """Incidents; "Object permissions" (django-guardian) shares one with a user or role."""

    form = IncidentAdminForm
    read_action = "incident"

    list_display = [
        "number",
        "title",
        "status",
        "priority",
        "tlp",
        "team",
        "assigned_to",
        "created_at",
        "resolved_at",
    ]
    list_filter = ["status", "priority", "tlp", "team"]
    search_fields = ["number", "title", "description"]
    list_select_related = ["team", "assigned_to"]
    readonly_fields = ["number", "created_by", "created_at", "updated_at"]
    inlines = [IncidentEventInline]


@admin.register(ResponseAction)
class ResponseActionAdmin(AuditedReadsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """A record of what was done: requested, approved and run through the console or
    the API only, never edited here."""

    read_action = "responseaction"

    list_display = [
        "incident",
        "action_type",
        "connector",
        "status",
        "requested_by",
        "decided_by",
        "performed_at",
        "finished_at",
    ]
    list_filter = ["action_type", "status"]
    search_fields = ["incident__number", "description"]
    list_select_related = ["incident", "connector", "requested_by", "decided_by"]


class ConnectorForm(forms.ModelForm):
    """The signing secret is write-only: the form never shows it, and a blank field
    keeps the stored one."""

    url = forms.URLField(required=False, assume_scheme="https", help_text="Webhook: where to POST.")
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="HMAC-SHA256 key for webhooks. Leave blank to keep the current one.",
    )

    class Meta:
        model = Connector
        fields = [
            "name",
            "kind",
            "enabled",
            "action_types",
            "url",
            "payload_format",
            "secret",
            "recipients",
            "command",
            "timeout_seconds",
        ]

    def clean_secret(self) -> str:
        return self.cleaned_data["secret"] or (self.instance.secret if self.instance.pk else "")


@admin.register(Connector)
class ConnectorAdmin(AuditedModelAdmin):
    form = ConnectorForm
    list_display = ["name", "kind", "enabled", "action_types", "timeout_seconds"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]


@admin.register(NotificationRule)
class NotificationRuleAdmin(AuditedModelAdmin):
    list_display = ["name", "enabled", "topics", "min_severity", "connector", "throttle_max"]
    list_filter = ["enabled", "min_severity"]
    filter_horizontal = ["teams", "rules"]
    search_fields = ["name"]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "rule", "topic", "subject", "status"]
    list_filter = ["status", "topic"]
    list_select_related = ["rule"]


@admin.register(IncidentEvent)
class IncidentEventAdmin(AuditedReadsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    read_action = "incidentevent"
    list_display = ["incident", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["incident__number"]
    list_select_related = ["incident", "actor"]


@admin.register(CaseTemplate)
class CaseTemplateAdmin(AuditedModelAdmin):
    """The first tasks of a new incident, per type: a JSON list of {title, description}."""

    list_display = ["name", "incident_type", "is_active"]
    list_filter = ["is_active"]


@admin.register(AlertMute)
class AlertMuteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Mutes are made and lifted by analysts in the console (audited there)."""

    list_display = ["__str__", "team", "reason", "created_by", "expires_at", "lifted_at"]
    list_filter = ["team"]


@admin.register(Evidence)
class EvidenceAdmin(AuditedReadsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    read_action = "evidence"
    list_display = ["name", "incident", "size", "sha256", "uploaded_by", "uploaded_at"]
    search_fields = ["name", "sha256", "incident__number"]
