"""Reference data every installation needs, made idempotently (``manage.py bootstrap``).

Part of the roof: it reaches into several apps, and nothing of the floor imports it.

Run on every deploy: it adds what is missing and brings what it owns (severities, the
built-in roles' permissions, the periodic task schedule) back to their definitions.
Anything else admins created is left alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from socapp.models import DEFAULT_TEAM, Team
from socapp.roles import role_permissions

SEVERITIES = [
    # name, level, colour, description
    ("informational", 1, "#6b7a90", "Worth recording; no action expected."),
    ("low", 2, "#3b82c4", "Unusual but unlikely to be harmful; review when time allows."),
    ("medium", 3, "#c28a00", "Suspicious; triage within the working day."),
    ("high", 4, "#e0651f", "Likely malicious; triage within the hour."),
    ("critical", 5, "#c8262c", "Active compromise or imminent damage; act now."),
]

# Name prefix of the periodic tasks bootstrap owns (it rewrites them on every run).
TASK_PREFIX = "socapp: "


@dataclass
class BootstrapReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    def note(self, created: bool, what: str) -> None:
        (self.created if created else self.updated).append(what)


def ensure_severities(report: BootstrapReport) -> None:
    from incidents.models import Severity

    for name, level, colour, description in SEVERITIES:
        _, created = Severity.objects.update_or_create(
            name=name, defaults={"level": level, "color_code": colour, "description": description}
        )
        report.note(created, f"severity {name}")


def _all_permission_names() -> dict[str, Permission]:
    return {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
    }


def ensure_roles(report: BootstrapReport) -> None:
    available = _all_permission_names()
    for role, wanted in role_permissions(set(available)).items():
        missing = sorted(wanted - set(available))
        if missing:
            raise RuntimeError(f"role {role!r} names unknown permissions: {missing}")
        group, created = Group.objects.get_or_create(name=role)
        group.permissions.set([available[name] for name in wanted])
        report.note(created, f"role {role} ({len(wanted)} permissions)")


def ensure_default_team(report: BootstrapReport) -> Team:
    team, created = Team.objects.get_or_create(
        name=DEFAULT_TEAM, defaults={"description": "The default security operations team."}
    )
    report.note(created, f"team {team.name}")
    return team


def _schedule_task(
    report: BootstrapReport,
    name: str,
    task: str,
    *,
    expires_seconds: int,
    interval: IntervalSchedule | None = None,
    crontab: CrontabSchedule | None = None,
) -> None:
    _, created = PeriodicTask.objects.update_or_create(
        name=TASK_PREFIX + name,
        defaults={
            "task": task,
            "interval": interval,
            "crontab": crontab,
            "queue": queue_of(task),
            "args": json.dumps([]),
            "kwargs": json.dumps({}),
            "enabled": True,
            # A run that waited longer than its period is stale: the next one replaces it.
            "expire_seconds": expires_seconds,
        },
    )
    report.note(created, f"periodic task {name}")


def queue_of(task: str) -> str:
    """The queue CELERY_TASK_ROUTES gives ``task`` (the default queue when it names none)."""
    route = settings.CELERY_TASK_ROUTES.get(task, {})
    return str(route.get("queue", settings.CELERY_TASK_DEFAULT_QUEUE))


def ensure_periodic_tasks(report: BootstrapReport) -> None:
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    refresh, _ = IntervalSchedule.objects.get_or_create(
        every=settings.HOURLY_SUMMARY_REFRESH_SECONDS, period=IntervalSchedule.SECONDS
    )
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="17",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    _schedule_task(
        report,
        "create event partitions ahead",
        "events.tasks.maintain_event_partitions",
        expires_seconds=3500,
        interval=hourly,
    )
    _schedule_task(
        report,
        "drop expired event partitions",
        "events.tasks.drop_expired_event_partitions",
        expires_seconds=6 * 3600,
        crontab=nightly,
    )
    every_minute, _ = IntervalSchedule.objects.get_or_create(
        every=60, period=IntervalSchedule.SECONDS
    )
    _schedule_task(
        report,
        "re-send uncorrelated batches",
        "events.tasks.sweep_uncorrelated_batches",
        expires_seconds=55,
        interval=every_minute,
    )
    every_ten_seconds, _ = IntervalSchedule.objects.get_or_create(
        every=10, period=IntervalSchedule.SECONDS
    )
    _schedule_task(
        report,
        "close correlation windows",
        "correlation.tasks.close_correlation_windows",
        expires_seconds=9,
        interval=every_ten_seconds,
    )
    _schedule_task(
        report,
        "check correlation lag",
        "correlation.tasks.check_correlation_lag",
        expires_seconds=55,
        interval=every_minute,
    )
    every_ten_minutes, _ = IntervalSchedule.objects.get_or_create(
        every=600, period=IntervalSchedule.SECONDS
    )
    _schedule_task(
        report,
        "discover hosts not in the inventory",
        "events.tasks.discover_unknown_hosts",
        expires_seconds=590,
        interval=every_ten_minutes,
    )
    _schedule_task(
        report,
        "check source health",
        "events.tasks.check_source_health",
        expires_seconds=55,
        interval=every_minute,
    )
    _schedule_task(
        report,
        "refresh hourly event summary",
        "events.tasks.refresh_hourly_event_summary",
        expires_seconds=max(30, settings.HOURLY_SUMMARY_REFRESH_SECONDS - 10),
        interval=refresh,
    )
    audit_anchor_every, _ = IntervalSchedule.objects.get_or_create(
        every=settings.AUDIT_ANCHOR_INTERVAL_SECONDS, period=IntervalSchedule.SECONDS
    )
    _schedule_task(
        report,
        "anchor the audit log",
        "socapp.tasks.audit_checkpoint",
        expires_seconds=max(30, settings.AUDIT_ANCHOR_INTERVAL_SECONDS - 10),
        interval=audit_anchor_every,
    )
    _schedule_task(
        report,
        "poll threat-intel feeds that are due",
        "intel.tasks.poll_due_feeds",
        expires_seconds=55,
        interval=every_minute,
    )
    _schedule_task(
        report,
        "expire indicators",
        "intel.tasks.expire_indicators",
        expires_seconds=55,
        interval=every_minute,
    )
    _schedule_task(
        report,
        "resume approved response actions",
        "incidents.tasks.resume_response_actions",
        expires_seconds=55,
        interval=every_minute,
    )


def ensure_rule_pack(report: BootstrapReport) -> None:
    """Load the default Sigma rule pack. A pack rule an admin disabled stays disabled;
    one whose shipped definition changed gets a new version."""
    from correlation.services.importing import RULE_PACK, import_rules

    result = import_rules([RULE_PACK], actor=None, active=None, origin_root=RULE_PACK.parent)
    if result.errors or result.skipped:
        problems = result.errors or result.skipped
        raise RuntimeError(f"the default rule pack does not load: {problems}")
    if result.imported:
        report.note(True, f"rule pack: {result.imported} rules")
    if result.updated:
        report.note(False, f"rule pack: {result.updated} rules")


def ensure_case_templates(report: BootstrapReport) -> None:
    """The default case templates, created when missing (an edited one is kept)."""
    from incidents.casetemplates import DEFAULT_TEMPLATES
    from incidents.models import CaseTemplate

    for incident_type, (name, tasks) in DEFAULT_TEMPLATES.items():
        _, created = CaseTemplate.objects.get_or_create(
            incident_type=incident_type, defaults={"name": name, "tasks": tasks}
        )
        report.note(created, f"case template {name}")


def bootstrap() -> BootstrapReport:
    from events.partitions import create_partitions_ahead

    report = BootstrapReport()
    with transaction.atomic():
        ensure_severities(report)
        ensure_roles(report)
        ensure_default_team(report)
        ensure_periodic_tasks(report)
        ensure_rule_pack(report)
        ensure_case_templates(report)
    for name in create_partitions_ahead():
        report.note(True, f"partition {name}")
    return report
