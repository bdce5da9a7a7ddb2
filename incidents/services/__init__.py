"""Changing alerts and incidents. Each service takes the acting user explicitly, runs in
one transaction, records the change on the incident timeline and in the audit log, and
nudges the live pages after commit."""

from .actions import (
    action_decide,
    action_is_stuck,
    action_request,
    action_run,
    action_settle,
    approval_needed,
    may_approve,
    may_settle,
)
from .alerts import (
    alert_comment,
    alert_create,
    alert_fold,
    alert_update,
    alerts_bulk_update,
    alerts_fold,
    alerts_raise,
)
from .cases import (
    EDITABLE_INCIDENT_FIELDS,
    RESOLUTIONS,
    WORKFLOW,
    allowed_next_statuses,
    incident_add_alerts,
    incident_assign,
    incident_create,
    incident_escalate,
    incident_escalate_many,
    incident_link_asset,
    incident_link_event,
    incident_link_ioc,
    incident_update,
)
from .grouping import grouping_policy, incident_for
from .mutes import alert_mute, alert_mute_lift, mute_for
from .observables import observable_add
from .work import (
    evidence_add,
    evidence_open,
    evidence_path,
    incident_comment,
    task_add,
    task_update,
)

__all__ = [
    "EDITABLE_INCIDENT_FIELDS",
    "RESOLUTIONS",
    "WORKFLOW",
    "action_decide",
    "action_is_stuck",
    "action_request",
    "action_run",
    "action_settle",
    "alert_comment",
    "alert_create",
    "alert_fold",
    "alert_mute",
    "alert_mute_lift",
    "alert_update",
    "alerts_bulk_update",
    "alerts_fold",
    "alerts_raise",
    "allowed_next_statuses",
    "approval_needed",
    "evidence_add",
    "evidence_open",
    "evidence_path",
    "grouping_policy",
    "incident_add_alerts",
    "incident_assign",
    "incident_comment",
    "incident_create",
    "incident_escalate",
    "incident_escalate_many",
    "incident_for",
    "incident_link_asset",
    "incident_link_event",
    "incident_link_ioc",
    "incident_update",
    "may_approve",
    "may_settle",
    "mute_for",
    "observable_add",
    "task_add",
    "task_update",
]
