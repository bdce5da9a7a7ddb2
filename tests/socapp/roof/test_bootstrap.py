"""manage.py bootstrap: idempotent reference data, roles, schedule (--demo: test_demo.py)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from incidents.models import Severity
from socapp import roles
from socapp.models import Team


def run_bootstrap(*args: str, tmp_path=None) -> str:
    out = StringIO()
    call_command("bootstrap", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "severities": list(
            Severity.objects.order_by("level").values_list("name", "level", "color_code")
        ),
        "roles": {
            g.name: sorted(g.permissions.values_list("codename", flat=True))
            for g in Group.objects.all()
        },
        "teams": list(Team.objects.values_list("name", flat=True)),
        "tasks": sorted(PeriodicTask.objects.values_list("name", "task", "queue")),
    }


@pytest.mark.django_db(transaction=True)
def test_bootstrap_is_idempotent():
    run_bootstrap()
    first = snapshot()
    output = run_bootstrap()
    assert snapshot() == first
    assert "0 created" in output


@pytest.mark.django_db(transaction=True)
def test_bootstrap_makes_the_five_severities():
    run_bootstrap()
    assert [s[:2] for s in snapshot()["severities"]] == [
        ("informational", 1),
        ("low", 2),
        ("medium", 3),
        ("high", 4),
        ("critical", 5),
    ]
    assert all(
        colour.startswith("#") and len(colour) == 7 for *_, colour in snapshot()["severities"]
    )


@pytest.mark.django_db(transaction=True)
def test_roles_have_sensible_permissions():
    run_bootstrap()
    perms = {
        g.name: {
            f"{p.content_type.app_label}.{p.codename}"
            for p in g.permissions.select_related("content_type")
        }
        for g in Group.objects.all()
    }
    analyst, manager = perms[roles.ANALYST], perms[roles.INCIDENT_MANAGER]
    admin, auditor, integration = (
        perms[roles.SOC_ADMIN],
        perms[roles.AUDITOR],
        perms[roles.INTEGRATION],
    )
    assert {"events.view_event", "incidents.change_alert"} <= analyst
    assert not {"events.add_source", "auth.add_user", "incidents.view_all_alerts"} & analyst
    assert {"incidents.assign_incident", "incidents.view_all_incidents"} <= manager - analyst
    assert {
        "auth.add_user",
        "auth.change_group",
        "socapp.change_team",
        "events.add_source",
        "correlation.add_correlationrule",
    } <= admin
    audit_models = ("auditentry", "auditanchor")
    audit_writes = {f"socapp.{v}_{m}" for v in ("change", "delete") for m in audit_models}
    assert not audit_writes & admin
    assert all(".view_" in p for p in auditor)
    assert {"socapp.view_auditentry", "auth.view_user"} <= auditor
    assert {"assets.add_asset", "intel.add_ioc"} <= integration
    assert "auth.add_user" not in integration


@pytest.mark.django_db(transaction=True)
def test_bootstrap_restores_a_built_in_roles_permissions():
    run_bootstrap()
    analyst = Group.objects.get(name=roles.ANALYST)
    analyst.permissions.clear()
    run_bootstrap()
    assert analyst.permissions.filter(codename="view_event").exists()


@pytest.mark.django_db(transaction=True)
def test_bootstrap_schedules_the_maintenance_tasks():
    run_bootstrap()
    tasks = {t.task: t for t in PeriodicTask.objects.filter(enabled=True)}
    for name in (
        "events.tasks.maintain_event_partitions",
        "events.tasks.drop_expired_event_partitions",
        "events.tasks.refresh_hourly_event_summary",
        "correlation.tasks.check_correlation_lag",
    ):
        assert tasks[name].queue == "maintenance"
        assert tasks[name].expire_seconds
    # Approved response actions whose task was lost are queued again every minute.
    assert tasks["incidents.tasks.resume_response_actions"].queue == "default"
    assert tasks["correlation.tasks.close_correlation_windows"].queue == "correlation"


def test_a_tasks_queue_is_declared_once_and_senders_follow_it(settings):
    """CELERY_TASK_ROUTES is the only declaration: the beat schedule takes its queues
    from it, and a task sent by name (as ingestion asks for correlation) is routed by it."""
    from socapp.celery import app
    from socapp.roof.bootstrap import queue_of

    routes = settings.CELERY_TASK_ROUTES
    assert all(queue_of(task) == route["queue"] for task, route in routes.items())
    assert queue_of("incidents.tasks.resume_response_actions") == "default"
    routed = app.amqp.router.route({}, "correlation.tasks.correlate_batch", args=["x"])
    assert routed["queue"].name == "correlation"
