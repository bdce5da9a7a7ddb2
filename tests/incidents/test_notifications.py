"""Notification routing: rules by topic, severity, team and correlation rule deliver to a
Slack-compatible webhook and to mail, with throttling that holds a storm back and says
how much it held. Real HTTP and SMTP receivers; Celery eager."""

from __future__ import annotations

import time

import pytest

from incidents.models import NotificationDelivery, NotificationRule
from incidents.services import incident_assign, incident_escalate, incident_update
from incidents.tasks import send_notifications
from tests.factories import ConnectorFactory, CorrelationRuleFactory
from tests.incidents.conftest import raise_alert

pytestmark = pytest.mark.django_db


def route(connector, topics, *, teams=(), rules=(), **options):
    rule = NotificationRule.objects.create(
        name=f"route {NotificationRule.objects.count()}",
        connector=connector,
        topics=topics,
        **options,
    )
    rule.teams.set(teams)
    rule.rules.set(rules)
    return rule


@pytest.fixture
def chat(webhook_receiver):
    return ConnectorFactory(
        name="soc chat", url=webhook_receiver.url, payload_format="slack", action_types=[]
    )


def test_high_alerts_reach_a_slack_compatible_webhook_and_low_ones_do_not(
    team_a, chat, webhook_receiver, django_capture_on_commit_callbacks
):
    route(chat, ["alert_raised"], min_severity="high")
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(team_a, "Beaconing to <evil>", level="critical", source__ip="10.0.0.5")
        raise_alert(team_a, "One failed login", level="low")
    [call] = webhook_receiver.calls
    body = call.json()
    assert body["text"] == "[CRITICAL] Beaconing to <evil>"
    assert body["blocks"][0]["type"] == "header"
    assert "ip:10.0.0.5" in body["blocks"][1]["text"]["text"]
    assert NotificationDelivery.objects.get().status == "sent"


def test_rules_filter_by_team_and_correlation_rule(
    team_a, team_b, chat, webhook_receiver, django_capture_on_commit_callbacks
):
    from incidents.services import alert_create
    from tests.factories import severity

    brute = CorrelationRuleFactory(name="SSH brute force")
    route(chat, ["alert_raised"], teams=[team_b], rules=[brute], min_severity="low")
    with django_capture_on_commit_callbacks(execute=True):
        for team in (team_a, team_b):
            alert_create(title=f"brute {team}", severity=severity("high"), team=team, rule=brute)
        raise_alert(team_b, "some other rule")
    assert [c.json()["text"] for c in webhook_receiver.calls] == [f"[HIGH] brute {team_b}"]


def test_a_storm_is_throttled_and_the_next_message_says_how_much_was_held(
    team_a, chat, webhook_receiver, django_capture_on_commit_callbacks
):
    rule = route(chat, ["alert_raised"], throttle_max=2, throttle_window_seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(6):
            raise_alert(team_a, f"storm {n}", user__name=f"u{n}")
    assert len(webhook_receiver.calls) == 2
    statuses = sorted(rule.deliveries.values_list("status", flat=True))
    assert statuses == ["sent", "sent", "throttled", "throttled", "throttled", "throttled"]

    time.sleep(1.1)  # the window has passed
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(team_a, "after the storm")
    last = webhook_receiver.calls[-1].json()
    assert last["text"] == "[HIGH] after the storm"
    assert (
        "4 earlier notification(s) of this rule were held back" in last["blocks"][1]["text"]["text"]
    )


def test_a_redelivered_task_sends_nothing_twice(
    team_a, chat, webhook_receiver, django_capture_on_commit_callbacks
):
    route(chat, ["alert_raised"])
    with django_capture_on_commit_callbacks(execute=True):
        alert = raise_alert(team_a)
    send_notifications("alert_raised", str(alert.pk))
    assert len(webhook_receiver.calls) == 1


def test_incident_changes_are_mailed_with_a_signed_json_copy_to_a_webhook(
    team_a, analyst_a, manager, smtp_receiver, webhook_receiver, django_capture_on_commit_callbacks
):
    mailbox = ConnectorFactory(
        name="managers", kind="email", recipients=["soc-managers@example.org"], action_types=[]
    )
    ticketing = ConnectorFactory(name="ticketing", url=webhook_receiver.url, action_types=[])
    topics = ["incident_opened", "incident_assigned", "incident_status"]
    route(mailbox, topics, min_severity="medium")
    route(ticketing, ["incident_opened"], min_severity="medium")
    with django_capture_on_commit_callbacks(execute=True):
        alert = raise_alert(team_a, "Ransomware note found")
        incident = incident_escalate(alert=alert, actor=manager)
    with django_capture_on_commit_callbacks(execute=True):
        incident_assign(incident=incident, assignee=analyst_a, actor=manager)
    with django_capture_on_commit_callbacks(execute=True):
        incident_update(incident=incident, actor=analyst_a, status="containment")

    subjects = [m["Subject"].strip() for m in smtp_receiver.messages]
    assert subjects == [
        f"[P2 - High] {incident.number} Ransomware note found: new incident",
        f"[P2 - High] {incident.number} Ransomware note found: incident assigned",
        f"[P2 - High] {incident.number} Ransomware note found: incident status changed",
    ]
    assert "assignee: analyst_a" in smtp_receiver.messages[1].get_content()
    [opened] = webhook_receiver.calls
    assert opened.json()["incident"]["number"] == incident.number
    assert opened.headers["X-Socapp-Signature"].startswith("sha256=")


def test_a_disabled_rule_or_connector_sends_nothing(
    team_a, chat, webhook_receiver, django_capture_on_commit_callbacks
):
    route(chat, ["alert_raised"], enabled=False)
    other = ConnectorFactory(name="off", url=webhook_receiver.url, enabled=False)
    route(other, ["alert_raised"])
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(team_a)
    assert webhook_receiver.calls == []


def test_an_action_waiting_for_approval_is_announced_to_the_managers(
    team_a, analyst_a, smtp_receiver, django_capture_on_commit_callbacks
):
    from incidents.services import action_request
    from tests.factories import IncidentFactory

    managers = ConnectorFactory(
        name="managers", kind="email", recipients=["soc-managers@example.org"], action_types=[]
    )
    firewall = ConnectorFactory(name="firewall")
    route(managers, ["action_approval"], min_severity="low")
    incident = IncidentFactory(team=team_a, priority="critical", title="C2 beacon")
    with django_capture_on_commit_callbacks(execute=True):
        action_request(
            incident=incident, actor=analyst_a, action_type="block_ip",
            connector=firewall, parameters={"ip": "203.0.113.9"},
        )  # fmt: skip
    [message] = smtp_receiver.messages
    assert message["Subject"].strip().endswith("response action awaiting approval")
    body = message.get_content()
    assert "target: 203.0.113.9/32" in body and "By: analyst_a" in body


def test_a_notification_to_a_refused_address_is_recorded_with_the_reason(
    team_a, webhook_receiver, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    metadata = ConnectorFactory(
        name="metadata", url="http://169.254.169.254/latest/meta-data/", action_types=[]
    )
    local = ConnectorFactory(name="local", url=webhook_receiver.url, action_types=[])
    route(metadata, ["alert_raised"], min_severity="low")
    route(local, ["alert_raised"], min_severity="low")
    with django_capture_on_commit_callbacks(execute=True):
        raise_alert(team_a, "Beaconing", level="high")
    assert webhook_receiver.calls == []
    deliveries = {d.rule.connector.name: d for d in NotificationDelivery.objects.all()}
    assert {d.status for d in deliveries.values()} == {"failed"}
    assert "169.254.169.254, a link-local address" in deliveries["metadata"].detail["refused"]
    assert "127.0.0.1, a loopback address" in deliveries["local"].detail["refused"]
