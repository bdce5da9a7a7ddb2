"""What the demo's incident manager made of the story's alerts, through the incidents
services (so the incident has its case template's tasks, a timeline and audit entries).

The manager escalated what happened on the Windows side - the spread of svc-backup, the
PsExec service, the beacon and the upload - into one intrusion, assigned it to the analyst,
and noted what is still unknown: how the attacker got svc-backup. The SSH alerts (the brute
force that ended in a login on the bastion) are left open in the queue: finding them and
adding them to the case is the analyst's first step, and the console guide's walk-through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .story import C2_DOMAIN, VICTIM

if TYPE_CHECKING:
    from incidents.models import Alert, Incident
    from socapp.users import User

# The pack's rules whose alerts the manager escalated, the first one named the incident.
ESCALATED_RULES = (
    "socapp_remote_service_creation",
    "socapp_account_many_hosts",
    "socapp_suspicious_domain",
    "socapp_beaconing",
    "socapp_data_exfiltration",
)

TITLE = f"{VICTIM}: PsExec from the bastion, beacon to {C2_DOMAIN}, ~650 MB out"
DESCRIPTION = (
    "svc-backup logged on over SMB from bastion-01 to six hosts within fifteen minutes and "
    f"PsExec's service was installed on {VICTIM}. The workstation then resolved {C2_DOMAIN}, "
    "checked in with its address every minute and uploaded about 650 MB to another public "
    "address. Open question: how did the attacker get onto the bastion and get svc-backup?"
)
COMMENT = (
    "svc-backup only ever logs on from the backup server, never from bastion-01. "
    "Start with the bastion's sshd log around the first logon."
)


def story_alerts() -> list[Alert]:
    """The engine's alerts of the escalated rules, in ``ESCALATED_RULES`` order."""
    from incidents.models import Alert

    raised = Alert.objects.filter(rule__sigma_name__in=ESCALATED_RULES, incident__isnull=True)
    found = {a.rule.sigma_name: a for a in raised.select_related("rule", "severity") if a.rule}
    return [found[name] for name in ESCALATED_RULES if name in found]


def open_incident(manager: User, analyst: User | None) -> Incident | None:
    """The manager's escalation; None when the engine raised none of the alerts (a pack
    an admin changed)."""
    from incidents.choices import IncidentType
    from incidents.services import (
        incident_add_alerts,
        incident_assign,
        incident_comment,
        incident_escalate,
        task_update,
    )

    alerts = story_alerts()
    if not alerts:
        return None
    first, *others = alerts
    incident = incident_escalate(
        alert=first,
        actor=manager,
        title=TITLE,
        priority="high",
        incident_type=IncidentType.INTRUSION,
        description=DESCRIPTION,
    )
    incident_add_alerts(incident=incident, alerts=others, actor=manager)
    incident_comment(incident=incident, actor=manager, body=COMMENT)
    if analyst is not None:
        incident_assign(incident=incident, assignee=analyst, actor=manager)
        scope = incident.tasks.order_by("position").first()
        if scope is not None:  # the template's first task: scope the intrusion
            task_update(task=scope, actor=manager, assignee=analyst)
    return incident
