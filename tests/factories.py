"""Factories for the models of every app (factory_boy)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import factory

from assets.models import Asset, AssetType
from correlation.models import Correlation, CorrelationRule
from events.models import EventType, Source
from events.records import EventRecord
from incidents.models import Alert, Connector, Incident, Severity
from intel.models import IOC, ThreatIntel
from socapp.models import Team
from socapp.users import User


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("correct horse battery staple")


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class SourceFactory(factory.django.DjangoModelFactory[Source]):
    class Meta:
        model = Source

    name = factory.Sequence(lambda n: f"source-{n}")
    source_type = "network"
    format = "syslog"
    team = factory.SubFactory(TeamFactory)


class EventTypeFactory(factory.django.DjangoModelFactory[EventType]):
    class Meta:
        model = EventType
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"event_type_{n}")
    category = "network"


class AssetTypeFactory(factory.django.DjangoModelFactory[AssetType]):
    class Meta:
        model = AssetType
        django_get_or_create = ("name",)

    name = "server"


class AssetFactory(factory.django.DjangoModelFactory[Asset]):
    class Meta:
        model = Asset

    name = factory.Sequence(lambda n: f"host-{n}")
    asset_type = factory.SubFactory(AssetTypeFactory)
    ip_addresses = factory.Sequence(lambda n: [f"10.9.{n // 250}.{n % 250 + 1}"])
    hostnames = factory.LazyAttribute(lambda a: [a.name.lower()])


class ThreatIntelFactory(factory.django.DjangoModelFactory[ThreatIntel]):
    class Meta:
        model = ThreatIntel

    source_name = factory.Sequence(lambda n: f"feed-{n}")


class IOCFactory(factory.django.DjangoModelFactory[IOC]):
    class Meta:
        model = IOC

    intel = factory.SubFactory(ThreatIntelFactory)
    ioc_type = "ipv4"
    value = factory.Sequence(lambda n: f"203.0.113.{n % 250 + 1}")


class CorrelationRuleFactory(factory.django.DjangoModelFactory[CorrelationRule]):
    class Meta:
        model = CorrelationRule

    name = factory.Sequence(lambda n: f"rule {n}")
    sigma_id = factory.LazyFunction(uuid.uuid4)
    definition = (
        "title: test\nlogsource: {product: linux}\ndetection: {sel: {a: b}, condition: sel}\n"
    )
    rule_type = "detection"


class CorrelationFactory(factory.django.DjangoModelFactory[Correlation]):
    class Meta:
        model = Correlation

    name = factory.Sequence(lambda n: f"correlation {n}")
    rule = factory.SubFactory(CorrelationRuleFactory)
    start_time = factory.LazyFunction(lambda: datetime.now(tz=UTC))
    end_time = factory.LazyFunction(lambda: datetime.now(tz=UTC))


def severity(name: str = "high") -> Severity:
    return Severity.objects.get(name=name)


class AlertFactory(factory.django.DjangoModelFactory[Alert]):
    class Meta:
        model = Alert

    title = factory.Sequence(lambda n: f"alert {n}")
    severity = factory.LazyFunction(lambda: severity("high"))
    team = factory.SubFactory(TeamFactory)


class IncidentFactory(factory.django.DjangoModelFactory[Incident]):
    class Meta:
        model = Incident

    number = factory.Sequence(lambda n: f"INC-2026-{n + 9000:04d}")
    title = factory.Sequence(lambda n: f"incident {n}")
    team = factory.SubFactory(TeamFactory)


def event_record(at: datetime, **overrides) -> EventRecord:
    fields: dict[str, Any] = {
        "event_time": at,
        "event_type": "authentication_failure",
        "source_ip": "192.0.2.10",
        "dest_ip": "10.0.0.5",
        "dest_port": 22,
        "protocol": "tcp",
        "raw_data": "sshd[1]: Failed password for root from 192.0.2.10 port 4242 ssh2",
        "normalized_data": {"event": {"outcome": "failure"}, "user": {"name": "root"}},
    }
    fields.update(overrides)
    return EventRecord(**fields)


class ConnectorFactory(factory.django.DjangoModelFactory[Connector]):
    class Meta:
        model = Connector

    name = factory.Sequence(lambda n: f"connector {n}")
    kind = "webhook"
    url = "http://127.0.0.1:9/hook"
    secret = "shared signing secret"
    action_types = ["webhook", "block_ip", "disable_account", "isolate_host"]
    timeout_seconds = 5
