"""The matrix's world: team A's objects, one of each kind the URLs point at, and the
twelve personas with the credentials each one presents.

Everything a detail URL names belongs to team A, so the analyst of team B probes other
teams' objects everywhere. Built once per test module (see test_matrix.py), through the
services where they exist, so the objects are what socapp itself makes.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from assets.models import DiscoveredHost, VulnerabilityFinding
from correlation.services import rule_save
from events.ingest import events_ingest
from events.models import Event, EventAttribute, IngestBatch, QuarantinedRecord
from events.parsers import RawRecord
from events.services import source_issue_token
from incidents.models import Alert, NotificationDelivery, NotificationRule
from incidents.services import (
    action_request,
    alert_comment,
    alert_create,
    alert_mute,
    evidence_add,
    incident_comment,
    incident_create,
    task_add,
)
from intel.models import IocMatch, IocSighting, RetroHunt
from socapp import roles
from socapp.models import ApiToken, SavedView
from socapp.roof.bootstrap import (
    BootstrapReport,
    ensure_case_templates,
    ensure_default_team,
    ensure_roles,
    ensure_severities,
)
from socapp.services import api_token_create, api_token_revoke
from tests.conftest import _persona
from tests.factories import (
    AssetFactory,
    ConnectorFactory,
    CorrelationFactory,
    IOCFactory,
    SourceFactory,
    TeamFactory,
    severity,
)

PERSONAS = (
    "analyst_a",
    "analyst_b",
    "manager",
    "soc_admin",
    "auditor",
    "integration",
    "nobody",
    "anonymous",
    "disabled",
    "expired_token",
    "revoked_token",
    "source_token",
)

RULE = """title: Sudo to root by a web server account
id: 4c1b2f0e-7d4a-4d8e-9a57-0a1b2c3d4e5f
status: experimental
logsource:
  product: linux
  service: sudo
detection:
  selection:
    user.name: www-data
  condition: selection
level: high
"""

_CLIENT = Client(raise_request_exception=False)

ENTITY_IP, ENTITY_USER, ENTITY_HOST = "192.0.2.10", "root", "web-01"


@dataclass
class Persona:
    """Who knocks, and with what: a browser session, a bearer token, both or nothing."""

    name: str
    session_key: str = ""
    bearer: str = ""

    def client(self) -> Client:
        """The shared client with this persona's cookies only: a logout or a login in one
        request must not leak into the next. (One client for all: each new one loads the
        middleware again, and the static files middleware scans every file.)"""
        client = _CLIENT
        client.cookies = SimpleCookie()
        if self.session_key:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.session_key
        return client

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"} if self.bearer else {}


@dataclass
class World:
    personas: dict[str, Persona] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)  # model label -> team A object

    def obj(self, label: str) -> Any:
        return self.objects[label]


def _session_of(user: Any) -> str:
    _CLIENT.cookies = SimpleCookie()
    _CLIENT.force_login(user)
    return _CLIENT.cookies[settings.SESSION_COOKIE_NAME].value


def _build_people(world: World, team_a: Any, team_b: Any) -> None:
    u = world.users  # the personas of tests/conftest.py, made the same way
    u["analyst_a"] = _persona("analyst_a", roles.ANALYST, team_a)
    u["analyst_b"] = _persona("analyst_b", roles.ANALYST, team_b)
    u["manager"] = _persona("manager", roles.INCIDENT_MANAGER)
    u["soc_admin"] = _persona("soc_admin", roles.SOC_ADMIN, staff=True)
    u["auditor"] = _persona("auditor", roles.AUDITOR, staff=True)
    u["integration"] = _persona("integration", roles.INTEGRATION, team_a)
    u["nobody"] = _persona("nobody", None)
    # The strongest account there is, deactivated after it logged in and took a token:
    # deactivation must beat every role, session and token it had.
    u["disabled"] = _persona("disabled", roles.SOC_ADMIN, team_a, staff=True)


def _build_personas(world: World, source: Any) -> None:
    u, p = world.users, world.personas
    for name in ("analyst_a", "analyst_b", "manager", "soc_admin", "auditor", "nobody"):
        p[name] = Persona(name, session_key=_session_of(u[name]))
    _, integration_token = api_token_create(
        user=u["integration"], actor=u["soc_admin"], expires_days=30
    )
    p["integration"] = Persona(
        "integration", session_key=_session_of(u["integration"]), bearer=integration_token
    )
    p["anonymous"] = Persona("anonymous")

    disabled_session = _session_of(u["disabled"])
    _, disabled_token = api_token_create(user=u["disabled"], actor=u["soc_admin"], expires_days=30)
    u["disabled"].is_active = False
    u["disabled"].save(update_fields=["is_active"])
    p["disabled"] = Persona("disabled", session_key=disabled_session, bearer=disabled_token)

    # Stale tokens of the SOC admin: what they once opened, they open no more.
    expired, expired_token = api_token_create(
        user=u["soc_admin"], actor=u["soc_admin"], expires_days=1
    )
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    p["expired_token"] = Persona("expired_token", bearer=expired_token)
    revoked, revoked_token = api_token_create(
        user=u["soc_admin"], actor=u["soc_admin"], expires_days=30
    )
    api_token_revoke(token=revoked, actor=u["soc_admin"])
    p["revoked_token"] = Persona("revoked_token", bearer=revoked_token)

    p["source_token"] = Persona(
        "source_token", bearer=source_issue_token(source=source, actor=u["soc_admin"])
    )
    assert set(p) == set(PERSONAS)


def _build_events(world: World, source: Any) -> None:
    """One good and one unreadable line through ingestion: a batch, an event with its
    attributes, a quarantined record."""
    now = timezone.now()
    line = {
        "@timestamp": (now - timedelta(minutes=5)).isoformat(),
        "event": {"category": "authentication", "outcome": "failure"},
        "source": {"ip": ENTITY_IP},
        "user": {"name": ENTITY_USER},
        "host": {"name": ENTITY_HOST},
        "message": "Failed password for root",
    }
    result = events_ingest(
        source=source,
        records=[RawRecord(1, json.dumps(line)), RawRecord(2, "{not json")],
        transport="api",
        log_format="json",
    )
    assert result.accepted == 1 and result.quarantined == 1, result
    o = world.objects
    o["events.event"] = Event.objects.get(source=source)
    o["events.ingestbatch"] = IngestBatch.objects.get(pk=result.batch_id)
    o["events.eventtype"] = o["events.event"].type_definition
    o["events.quarantinedrecord"] = QuarantinedRecord.objects.get(source=source)
    event = o["events.event"]
    o["events.eventattribute"] = EventAttribute.objects.filter(
        event_id=event.event_id
    ).first() or EventAttribute.objects.create(
        event_id=event.event_id, event_time=event.event_time, name="user.name", value=ENTITY_USER
    )


def _build_detection(world: World, team_a: Any) -> None:
    o, admin = world.objects, world.users["soc_admin"]
    o["correlation.correlationrule"] = rule_save(
        actor=admin, definition=RULE, is_active=True, team=team_a
    )
    o["correlation.correlation"] = CorrelationFactory(rule=o["correlation.correlationrule"])
    o["intel.ioc"] = IOCFactory(value="198.51.100.77")
    o["intel.threatintel"] = o["intel.ioc"].intel
    event = o["events.event"]
    o["intel.iocmatch"] = IocMatch.objects.create(
        ioc=o["intel.ioc"], event_id=event.event_id, event_time=event.event_time, field="source.ip"
    )
    o["intel.iocsighting"] = IocSighting.objects.create(
        ioc=o["intel.ioc"], kind="false_positive", note="closed as a false positive"
    )
    now = event.event_time
    o["intel.retrohunt"] = RetroHunt.objects.create(range_start=now, range_end=now)
    o["assets.asset"] = AssetFactory(name=ENTITY_HOST, ip_addresses=["10.0.0.5"], team=team_a)
    o["assets.assettype"] = o["assets.asset"].asset_type
    o["assets.discoveredhost"] = DiscoveredHost.objects.create(
        kind="ip", value="10.0.0.99", first_seen=event.event_time, last_seen=timezone.now()
    )
    o["assets.vulnerabilityfinding"] = VulnerabilityFinding.objects.create(
        asset=o["assets.asset"],
        scanner="nessus",
        plugin_id="156014",
        port=8080,
        protocol="tcp",
        cve="CVE-2021-44228",
        first_seen=event.event_time,
        last_seen=event.event_time,
    )


def _build_alerts(world: World, team_a: Any) -> None:
    o, u = world.objects, world.users
    entities = {"source.ip": ENTITY_IP, "user.name": ENTITY_USER}
    alert = alert_create(
        title="SSH brute force",
        severity=severity("high"),
        team=team_a,
        rule=o["correlation.correlationrule"],
        correlation=o["correlation.correlation"],
        details={"entities": entities},
    )
    o["incidents.alert"] = alert
    alert_comment(alert=alert, actor=u["analyst_a"], body="Looking into it.")
    muted = alert_create(title="Port scan", severity=severity("low"), team=team_a)
    o["incidents.alertmute"] = alert_mute(
        alert=muted, actor=u["analyst_a"], duration=timedelta(days=1), reason="patching"
    )
    o["socapp.savedview"] = SavedView.objects.create(
        owner=u["analyst_a"], page=SavedView.Page.ALERTS, name="mine", query="status=open"
    )


def _build_incident(world: World, team_a: Any) -> None:
    o, u = world.objects, world.users
    analyst = u["analyst_a"]
    in_case = alert_create(title="Malware beacon", severity=severity("critical"), team=team_a)
    incident = incident_create(
        actor=analyst, title="Beaconing host", team=team_a, priority="high", alerts=[in_case]
    )
    o["incidents.incident"] = incident
    incident_comment(incident=incident, actor=analyst, body="Isolating the host.")
    o["incidents.incidenttask"] = task_add(incident=incident, actor=analyst, title="Collect logs")
    o["incidents.evidence"] = evidence_add(
        incident=incident, actor=analyst, name="capture.pcap", content=io.BytesIO(b"pcap bytes")
    )
    o["incidents.connector"] = ConnectorFactory(name="edge firewall")
    # High priority: the analyst's request waits for an incident manager.
    o["incidents.responseaction"] = action_request(
        incident=incident,
        actor=analyst,
        action_type="block_ip",
        connector=o["incidents.connector"],
        parameters={"ip": "198.51.100.77"},
    )
    assert o["incidents.responseaction"].status == "awaiting_approval"
    o["incidents.incidentevent"] = incident.timeline.first()
    rule = NotificationRule.objects.create(
        name="critical alerts", topics=["alert_raised"], connector=o["incidents.connector"]
    )
    o["incidents.notificationrule"] = rule
    o["incidents.notificationdelivery"] = NotificationDelivery.objects.create(
        rule=rule, topic="alert_raised", subject=str(in_case.pk), status="sent"
    )


def _build_configuration(world: World) -> None:
    """Rows of the admin-only models, so every admin detail page has something to show."""
    o = world.objects
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    o["django_celery_beat.intervalschedule"] = every
    o["django_celery_beat.crontabschedule"] = CrontabSchedule.objects.create(minute="5")
    o["django_celery_beat.solarschedule"] = SolarSchedule.objects.create(
        event="sunrise", latitude=48.85, longitude=2.35
    )
    o["django_celery_beat.clockedschedule"] = ClockedSchedule.objects.create(
        clocked_time=timezone.now() + timedelta(days=1)
    )
    o["django_celery_beat.periodictask"] = PeriodicTask.objects.create(
        name="matrix task", task="socapp.tasks.noop", interval=every
    )


def _build_security_records(world: World) -> None:
    """Rows of what the security machinery writes (lockouts, logins, audit checkpoints,
    JWT sessions, second factors) and what correlation sets aside (a poison event, a
    batch part), so their admin pages have something to show and act on."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from correlation.models import BatchPart, RuleQuarantine
    from socapp.audit_anchor import audit_anchor_write
    from socapp.models import AuthenticatorApp, JwtSession

    o, analyst = world.objects, world.users["analyst_a"]
    seen = {
        "username": analyst.username,
        "ip_address": "203.0.113.9",
        "user_agent": "curl/8",
        "http_accept": "*/*",
        "path_info": "/accounts/login/",
    }
    o["axes.accessattempt"] = AccessAttempt.objects.create(
        **seen, get_data="", post_data="", failures_since_start=1
    )
    o["axes.accesslog"] = AccessLog.objects.create(**seen)
    o["axes.accessfailurelog"] = AccessFailureLog.objects.create(**seen, locked_out=False)
    o["socapp.auditanchor"] = audit_anchor_write()
    o["socapp.jwtsession"] = JwtSession.objects.create(
        user=analyst, expires_at=timezone.now() + timedelta(days=1)
    )
    # Not a persona's: a confirmed second factor changes what its owner's pages answer.
    enrolled = get_user_model().objects.create_user("enrolled", password=None)
    o["otp_totp.totpdevice"] = AuthenticatorApp.objects.create(
        user=enrolled, name="phone", confirmed=True
    )
    event = o["events.event"]
    o["correlation.rulequarantine"] = RuleQuarantine.objects.create(
        rule=o["correlation.correlationrule"],
        event_id=event.event_id,
        event_time=event.event_time,
        error="KeyError: 'user'",
    )
    o["correlation.batchpart"] = BatchPart.objects.create(
        batch=o["events.ingestbatch"], start=0, end=1
    )


def build_world() -> World:
    report = BootstrapReport()
    ensure_severities(report)
    ensure_roles(report)
    ensure_default_team(report)
    ensure_case_templates(report)
    world = World()
    team_a, team_b = TeamFactory(name="Team A"), TeamFactory(name="Team B")
    _build_people(world, team_a, team_b)
    source = SourceFactory(name="fw-a", team=team_a, format="json")
    o = world.objects
    o["socapp.team"], o["events.source"] = team_a, source
    _build_personas(world, source)
    _build_events(world, source)
    _build_detection(world, team_a)
    _build_alerts(world, team_a)
    _build_incident(world, team_a)
    _build_configuration(world)
    _build_security_records(world)
    _fill_the_rest(world)
    return world


def _fill_the_rest(world: World) -> None:
    """Models whose first row is as good as any: reference data and the floor's own."""
    from django.contrib.auth.models import Permission

    from incidents.models import CaseTemplate, Severity
    from socapp.models import AuditEntry, Role

    o, u = world.objects, world.users
    o["auth.user"] = u["analyst_a"]
    o["socapp.role"] = Role.objects.get(name=roles.ANALYST)
    o["auth.permission"] = Permission.objects.get(codename="view_alert")
    o["socapp.apitoken"] = ApiToken.objects.filter(user=u["integration"]).first()
    o["socapp.auditentry"] = AuditEntry.objects.order_by("seq").first()
    o["incidents.severity"] = Severity.objects.get(name="high")
    o["incidents.casetemplate"] = CaseTemplate.objects.first()
    o["contenttypes.incident"] = ContentType.objects.get_for_model(o["incidents.incident"])
    assert all(v is not None for v in o.values()), [k for k, v in o.items() if v is None]
    assert Alert.objects.filter(team=o["socapp.team"]).count() >= 3
