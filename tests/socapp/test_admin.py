"""The SOC admin manages users, roles and teams in the Django admin; changes are audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from socapp import roles
from socapp.models import AuditEntry, Team

User = get_user_model()


@pytest.fixture
def admin_client(soc_admin) -> Client:
    client = Client()
    client.force_login(soc_admin)
    return client


@pytest.mark.django_db
def test_soc_admin_creates_a_user_and_gives_them_a_role(admin_client):
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "carol",
            "password1": "a-long-enough-passphrase-9",
            "password2": "a-long-enough-passphrase-9",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    carol = User.objects.get(username="carol")
    analyst_role = Group.objects.get(name=roles.ANALYST)
    change = admin_client.get(reverse("admin:auth_user_change", args=[carol.pk]))
    form = change.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        {
            "groups": [analyst_role.pk],
            "is_active": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-11-28",
            "date_joined_1": "10:00:00",
        }
    )
    data.pop("last_login", None)
    data.pop("date_joined", None)
    data.pop("user_permissions", None)
    response = admin_client.post(reverse("admin:auth_user_change", args=[carol.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(carol.groups.values_list("name", flat=True)) == [roles.ANALYST]
    assert AuditEntry.objects.filter(action="admin.create", object_id=str(carol.pk)).exists()
    assert AuditEntry.objects.filter(action="admin.update", object_id=str(carol.pk)).exists()


@pytest.mark.django_db
def test_soc_admin_creates_a_team_with_members(admin_client, analyst_a):
    response = admin_client.post(
        reverse("admin:socapp_team_add"),
        {
            "name": "Cloud",
            "description": "Cloud workloads",
            "members": [analyst_a.pk],
        },
    )
    assert response.status_code == 302
    team = Team.objects.get(name="Cloud")
    assert list(team.members.all()) == [analyst_a]


@pytest.mark.django_db
def test_soc_admin_edits_a_roles_permissions(admin_client):
    from django.contrib.auth.models import Permission

    role = Group.objects.create(name="threat hunter")
    view_event = Permission.objects.get(codename="view_event")
    response = admin_client.post(
        reverse("admin:socapp_role_change", args=[role.pk]),
        {
            "name": "threat hunter",
            "permissions": [view_event.pk],
        },
    )
    assert response.status_code == 302
    assert list(role.permissions.all()) == [view_event]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page",
    [
        "admin:index",
        "admin:auth_user_changelist",
        "admin:socapp_role_changelist",
        "admin:socapp_team_changelist",
        "admin:events_event_changelist",
        "admin:events_source_changelist",
        "admin:incidents_alert_changelist",
        "admin:incidents_incident_changelist",
        "admin:correlation_correlationrule_changelist",
        "admin:intel_ioc_changelist",
        "admin:assets_asset_changelist",
        "admin:socapp_auditentry_changelist",
        "admin:socapp_apitoken_changelist",
        "admin:django_celery_beat_periodictask_changelist",
        "admin:auth_permission_changelist",
    ],
)
def test_admin_pages_open_for_the_soc_admin(admin_client, page):
    assert admin_client.get(reverse(page)).status_code == 200


@pytest.mark.django_db
def test_an_incident_is_shared_through_object_permissions_in_the_admin(admin_client, analyst_b):
    from guardian.shortcuts import get_perms

    from tests.factories import IncidentFactory

    incident = IncidentFactory()
    url = reverse(
        "admin:incidents_incident_permissions_manage_user", args=[incident.pk, analyst_b.pk]
    )
    response = admin_client.post(url, {"permissions": ["view_incident"]})
    assert response.status_code == 302
    assert get_perms(analyst_b, incident) == ["view_incident"]


@pytest.mark.django_db
def test_event_search_in_the_admin_takes_ips_and_types(admin_client):
    url = reverse("admin:events_event_changelist")
    assert admin_client.get(url, {"q": "192.0.2.1"}).status_code == 200
    assert admin_client.get(url, {"q": "not an ip"}).status_code == 200


@pytest.mark.django_db
def test_an_analyst_cannot_enter_the_admin(analyst_a):
    client = Client()
    client.force_login(analyst_a)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.django_db
def test_the_auditor_reads_the_audit_log_but_changes_nothing(auditor, soc_admin):
    client = Client()
    client.force_login(auditor)
    assert client.get(reverse("admin:socapp_auditentry_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200
    response = client.post(reverse("admin:socapp_team_add"), {"name": "sneaky"})
    assert response.status_code == 403
    assert not Team.objects.filter(name="sneaky").exists()


@pytest.mark.django_db
def test_a_token_made_in_the_admin_is_shown_once(admin_client, analyst_a):
    response = admin_client.post(
        reverse("admin:socapp_apitoken_add"),
        {"user": analyst_a.pk, "name": "siem bridge", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("socapp_pat_" in m for m in messages)


@pytest.mark.django_db
def test_only_those_who_may_change_tokens_revoke_them_with_the_admin_action(
    auditor, soc_admin, analyst_a
):
    """The auditor reads the token list; revoking (a change) is the SOC admin's."""
    from socapp.services import api_token_create

    token, _ = api_token_create(user=analyst_a, actor=soc_admin, expires_days=30)
    revoke = {"action": "revoke", "_selected_action": [token.pk]}
    changelist = reverse("admin:socapp_apitoken_changelist")

    as_auditor = Client()
    as_auditor.force_login(auditor)
    as_auditor.post(changelist, revoke)
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEntry.objects.filter(action="api_token.revoke").exists()

    as_admin = Client()
    as_admin.force_login(soc_admin)
    as_admin.post(changelist, revoke)
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.django_db
def test_a_user_named_in_the_audit_log_is_deactivated_not_deleted(admin_client, analyst_a):
    """The log is append-only: deleting such a user used to end in a 500 (the database
    refused to unlink their entries). The admin now says why it cannot, as for any
    protected object, and a user the log never names can still be deleted."""
    from socapp.audit import audit_record

    audit_record(actor=analyst_a, action="test.read", target=analyst_a)
    spare = User.objects.create_user("spare", password="a-long-enough-passphrase-9")
    for user, deleted in ((analyst_a, False), (spare, True)):
        response = admin_client.post(
            reverse("admin:auth_user_changelist"),
            {"action": "delete_selected", "_selected_action": [user.pk], "post": "yes"},
        )
        assert response.status_code in (200, 302)
        assert User.objects.filter(pk=user.pk).exists() is not deleted
    page = admin_client.post(
        reverse("admin:auth_user_delete", args=[analyst_a.pk]), {"post": "yes"}
    )
    assert page.status_code == 200 and "named in the audit log" in page.content.decode()
    assert User.objects.filter(pk=analyst_a.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["disable_tasks", "toggle_tasks", "run_tasks"])
def test_the_auditor_cannot_drive_the_beat_schedule(auditor, soc_admin, action):
    """django-celery-beat's actions name no permission: the read-only auditor could
    switch off (or fire) any periodic task, e.g. the correlation sweep."""
    from django.contrib.messages import get_messages
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    task = PeriodicTask.objects.create(name="sweep", task="socapp.tasks.noop", interval=every)
    client = Client()
    client.force_login(auditor)
    response = client.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {"action": action, "_selected_action": [task.pk]},
    )
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert all(m == "No action selected." for m in said), said  # nothing done, nothing sent
    assert PeriodicTask.objects.get(pk=task.pk).enabled


@pytest.mark.django_db
def test_the_soc_admin_still_switches_periodic_tasks_off(admin_client):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    task = PeriodicTask.objects.create(name="sweep", task="socapp.tasks.noop", interval=every)
    admin_client.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {"action": "disable_tasks", "_selected_action": [task.pk]},
    )
    assert not PeriodicTask.objects.get(pk=task.pk).enabled
