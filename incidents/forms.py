"""The console's forms: validation only; the changes go through incidents/services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

from intel.services import INDICATOR_KINDS
from socapp.models import Team
from socapp.users import User

from .choices import (
    CLOSE_REASONS_BY_HAND,
    TLP,
    IncidentPriority,
    IncidentStatus,
    IncidentType,
    ObservableKind,
    ResponseActionType,
    SettleOutcome,
    TaskStatus,
)
from .models import Connector, Incident, Severity
from .response.targets import TARGET_PARAMETER

MUTE_DURATIONS = {
    "1h": timedelta(hours=1),
    "8h": timedelta(hours=8),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
CLOSE_REASONS = CLOSE_REASONS_BY_HAND


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_username()


class AssignForm(forms.Form):
    """Who takes an alert or incident: one of ``assignees`` (``assignable_users``)."""

    assignee = UserChoiceField(
        queryset=User.objects.none(),
        required=False,
        to_field_name="username",
        empty_label="— nobody —",
        error_messages={
            "invalid_choice": "This person cannot be assigned: only members of the team "
            "whose role works its cases, or people who work every team's, can."
        },
    )

    def __init__(self, *args: Any, assignees: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = assignees


class SeverityForm(forms.Form):
    severity = forms.ModelChoiceField(queryset=Severity.objects.all(), to_field_name="name")


class CloseForm(forms.Form):
    close_reason = forms.ChoiceField(choices=CLOSE_REASONS, label="Reason")


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=20000)


class MuteForm(forms.Form):
    duration = forms.ChoiceField(choices=[(k, k) for k in MUTE_DURATIONS], initial="24h")
    reason = forms.CharField(max_length=2000)

    def clean_duration(self) -> timedelta:
        return MUTE_DURATIONS[self.cleaned_data["duration"]]


class EscalateForm(forms.Form):
    title = forms.CharField(max_length=255, required=False)
    priority = forms.ChoiceField(
        choices=[("", "from the severity"), *IncidentPriority.choices], required=False
    )
    incident_type = forms.ChoiceField(choices=IncidentType.choices, initial=IncidentType.OTHER)


class MergeForm(forms.Form):
    incident = forms.ModelChoiceField(queryset=Incident.objects.all(), to_field_name="number")


BULK_ACTIONS = [
    ("acknowledge", "Acknowledge"),
    ("assign", "Assign to"),
    ("close", "Close as"),
    ("escalate", "Escalate into one new incident"),
    ("merge", "Add to incident"),
]


class BulkForm(forms.Form):
    """The queue's bulk bar; the selected alerts come as ``ids`` (see ``selected_ids``)."""

    action = forms.ChoiceField(choices=BULK_ACTIONS)
    assignee = UserChoiceField(
        queryset=User.objects.filter(is_active=True), required=False, to_field_name="username"
    )
    close_reason = forms.ChoiceField(choices=CLOSE_REASONS, required=False)
    incident = forms.CharField(required=False, help_text="Incident number, for 'add to'.")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        action = data.get("action")
        if action == "close" and not data.get("close_reason"):
            self.add_error("close_reason", "Closing needs a reason.")
        if action == "merge" and not data.get("incident"):
            self.add_error("incident", "Say which incident to add the alerts to.")
        return data


def selected_ids(post: QueryDict) -> list[str]:
    """The alert ids ticked in the queue; malformed ones are dropped (they match nothing)."""
    import uuid

    ids = []
    for value in post.getlist("ids"):
        try:
            ids.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return ids


class IncidentForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = ["title", "team", "incident_type", "priority", "tlp", "description"]

    def __init__(self, *args: Any, teams: QuerySet[Team] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["team"]
        if teams is not None and isinstance(field, forms.ModelChoiceField):
            field.queryset = teams


class IncidentEditForm(forms.Form):
    title = forms.CharField(max_length=255)
    incident_type = forms.ChoiceField(choices=IncidentType.choices)
    priority = forms.ChoiceField(choices=IncidentPriority.choices)
    tlp = forms.ChoiceField(choices=TLP.choices, label="TLP")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=IncidentStatus.choices)


class CloseIncidentForm(forms.Form):
    """Closing: a resolution (the alert close reasons), and whether the open tasks close
    with the incident as not needed."""

    resolution = forms.ChoiceField(choices=CLOSE_REASONS_BY_HAND)
    close_open_tasks = forms.BooleanField(
        required=False, label="Close the open tasks as not needed"
    )


class ObservableForm(forms.Form):
    KINDS = INDICATOR_KINDS
    kind = forms.ChoiceField(choices=[(k, ObservableKind(k).label) for k in INDICATOR_KINDS])
    value = forms.CharField(max_length=2048)
    description = forms.CharField(required=False, max_length=2000)


class TaskForm(forms.Form):
    title = forms.CharField(max_length=255)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class TaskStatusForm(forms.Form):
    task = forms.UUIDField()
    status = forms.ChoiceField(choices=TaskStatus.choices)


class EvidenceForm(forms.Form):
    file = forms.FileField()
    description = forms.CharField(required=False, max_length=2000)


class LinkForm(forms.Form):
    """An asset (name, host name or IP) or an IOC value to attach to an incident."""

    kind = forms.ChoiceField(choices=[("asset", "Asset"), ("ioc", "IOC")])
    value = forms.CharField(max_length=2048)


class LinkEventForm(forms.Form):
    event_id = forms.UUIDField()
    event_time = forms.DateTimeField()
    summary = forms.CharField(required=False, max_length=500)


class ActionRequestForm(forms.Form):
    """One field for what the action acts on (an IP, an account, a host); the service
    files it under the parameter the action type expects and checks it."""

    action_type = forms.ChoiceField(
        choices=ResponseActionType.choices, widget=forms.Select(attrs={"aria-label": "Action"})
    )
    connector = forms.ModelChoiceField(
        # Notification-only connectors (no action types) are not offered.
        queryset=Connector.objects.filter(enabled=True).exclude(action_types=[]),
        required=False,
        to_field_name="name",
    )
    target = forms.CharField(max_length=255, required=False)
    note = forms.CharField(max_length=4000, required=False)
    description = forms.CharField(max_length=4000, required=False)


def action_request_arguments(data: dict) -> dict:
    """ActionRequestForm's data as the arguments of services.action_request."""
    parameters = {"note": data["note"]}
    name = TARGET_PARAMETER.get(data["action_type"])
    if name:
        parameters[name] = data["target"]
    return {
        "action_type": data["action_type"],
        "connector": data["connector"],
        "parameters": parameters,
        "description": data["description"],
    }


class ActionDecideForm(forms.Form):
    action = forms.UUIDField()
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    note = forms.CharField(max_length=2000, required=False)


class ActionSettleForm(forms.Form):
    """Settle an action left running: what the manager found when they checked by hand."""

    action = forms.UUIDField()
    outcome = forms.ChoiceField(choices=SettleOutcome.choices)
    note = forms.CharField(max_length=2000)
