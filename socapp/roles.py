"""The built-in roles and what each may do, as Django permission codenames.

``manage.py bootstrap`` makes the groups match this table on every run (adding what is
missing and removing what is no longer listed), so a deploy is all it takes to change a
role. Roles are ordinary Groups: admins may create more in the Django admin.
"""

from __future__ import annotations

ANALYST = "analyst"
INCIDENT_MANAGER = "incident manager"
SOC_ADMIN = "SOC admin"
AUDITOR = "read-only auditor"
INTEGRATION = "integration"

OUR_APPS = ("socapp", "assets", "intel", "events", "incidents", "correlation")
SECOND_FACTOR_APPS = ("otp_totp", "otp_static")  # django-otp's devices

# What every working role reads: the SOC's data, not its configuration secrets or audit.
SOC_DATA_MODELS = (
    "socapp.team",
    "events.source",
    "events.eventtype",
    "events.event",
    "events.eventattribute",
    "events.ingestbatch",
    "events.quarantinedrecord",
    "incidents.severity",
    "incidents.alert",
    "incidents.incident",
    "incidents.incidentevent",
    "incidents.responseaction",
    "correlation.correlationrule",
    "correlation.correlation",
    "correlation.correlationevent",
    "correlation.ruleversion",
    "correlation.rulefilter",
    "correlation.rulestats",
    "intel.threatintel",
    "intel.ioc",
    "intel.iocmatch",
    "intel.iocsighting",
    "intel.retrohunt",
    "assets.asset",
    "assets.assettype",
    "assets.discoveredhost",
    "assets.vulnerabilityfinding",
)


def _view(models: tuple[str, ...]) -> set[str]:
    return {f"{m.split('.')[0]}.view_{m.split('.')[1]}" for m in models}


READ_SOC_DATA = _view(SOC_DATA_MODELS) | {"auth.view_user"}

ANALYST_PERMS = READ_SOC_DATA | {
    "events.add_ingestbatch",  # upload a log file for an investigation
    "correlation.backtest_correlationrule",  # try a rule over history (raises nothing)
    "incidents.change_alert",
    "incidents.add_incident",
    "incidents.change_incident",
    "incidents.add_responseaction",  # request one; above the approval priority it waits
    "intel.add_ioc",
    "intel.change_ioc",
}

INCIDENT_MANAGER_PERMS = ANALYST_PERMS | {
    "incidents.view_all_alerts",
    "incidents.view_all_incidents",
    "incidents.manage_all_incidents",
    "incidents.assign_incident",
    "incidents.change_responseaction",
    "incidents.approve_responseaction",
    "events.ingest_any_source",  # upload logs into any team's source, as for every case
    # The inventory (and its CSV import): analysts read their teams' part of it.
    "assets.view_all_assets",
    "assets.manage_all_assets",
    "assets.add_asset",
    "assets.change_asset",
    "assets.delete_asset",
    # Scanner reports (Nessus, OpenVAS, CSV) become findings on the inventory's assets.
    "assets.add_vulnerabilityfinding",
    "assets.change_vulnerabilityfinding",
    # Import feeds into existing sources: an import changes what alerts for every team,
    # so it is a manager's decision, not one analyst's (analysts add single IOCs).
    "intel.import_threatintel",
}

INTEGRATION_PERMS = READ_SOC_DATA | {
    "events.add_ingestbatch",
    "incidents.change_alert",
    "incidents.add_incident",
    "incidents.change_incident",
    "incidents.add_responseaction",
    "intel.add_ioc",
    "intel.change_ioc",
    "assets.view_all_assets",
    "intel.import_threatintel",  # push feeds (STIX, MISP, CSV) into existing sources
    "assets.add_asset",
    "assets.change_asset",
    "assets.add_vulnerabilityfinding",  # push scanner reports
    "assets.change_vulnerabilityfinding",
}

# Reading the audit log (its page and /api/v1/audit/) is for auditors and SOC admins.
READ_AUDIT_LOG = "socapp.view_auditentry"
# Nobody may alter the audit log or its anchors, not even an admin; the database enforces
# it as well (triggers, and the application role's grants: docs/SECURITY.md).
NEVER_GRANTED = {
    f"socapp.{verb}_{model}"
    for verb in ("add", "change", "delete")
    for model in ("auditentry", "auditanchor")
}


def soc_admin_perms(all_perms: set[str]) -> set[str]:
    """Everything in our apps, user and role management, the beat schedule, login
    lockouts (axes: see and clear them) and users' second factors (see, take away)."""
    wanted = {
        p
        for p in all_perms
        if p.split(".")[0]
        in (*OUR_APPS, "auth", "django_celery_beat", "guardian", "axes", *SECOND_FACTOR_APPS)
        or p in {"admin.view_logentry", READ_AUDIT_LOG}
    }
    return wanted - NEVER_GRANTED


def auditor_perms(all_perms: set[str]) -> set[str]:
    """Read everything, change nothing."""
    reads = {
        p
        for p in all_perms
        if p.split(".")[1].startswith("view_")
        and p.split(".")[0]
        in (*OUR_APPS, "auth", "django_celery_beat", "admin", "axes", *SECOND_FACTOR_APPS)
    }
    return reads | {
        "incidents.view_all_alerts",
        "incidents.view_all_incidents",
        READ_AUDIT_LOG,
    }


def role_permissions(all_perms: set[str]) -> dict[str, set[str]]:
    return {
        ANALYST: ANALYST_PERMS,
        INCIDENT_MANAGER: INCIDENT_MANAGER_PERMS,
        SOC_ADMIN: soc_admin_perms(all_perms),
        AUDITOR: auditor_perms(all_perms),
        INTEGRATION: INTEGRATION_PERMS,
    }


ROLE_DESCRIPTIONS = {
    ANALYST: "Triages alerts and works the incidents of their teams.",
    INCIDENT_MANAGER: "Sees every team's alerts and incidents, assigns cases, approves actions.",
    SOC_ADMIN: "Manages users, roles, teams, sources, rules and feeds.",
    AUDITOR: "Reads everything, including the audit log; changes nothing.",
    INTEGRATION: "A machine account: pulls alerts, drives incidents, pushes IOCs and assets.",
}
