"""Demo users and sample data for ``bootstrap --demo`` (what `make run` shows).

The sample tells one small story over the last two days: background traffic from a
firewall, a web server, a domain controller and an IDS, then an SSH brute force from a
known-bad address against web-01 that ends in a successful login, and a workstation
resolving a blocklisted domain. Its alerts, correlation and incident are what the rule
engine and an analyst would have made of it. Created once; later runs leave it alone.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from socapp import roles
from socapp.models import Team

from .bootstrap import DEFAULT_TEAM

if TYPE_CHECKING:
    from correlation.handoff import AlertDetails
    from events.records import EventRecord

User = get_user_model()

DEMO_MARKER_SOURCE = "demo-firewall"
ATTACKER_IP = "185.220.101.47"
BAD_DOMAIN = "evil-update.example"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


def credentials_path() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo-credentials.json"


def _load_credentials(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save_credentials(path: Path, creds: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(creds, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)


def ensure_demo_users(path: Path | None = None) -> list[DemoLogin]:
    """The demo admin and analyst, with random passwords kept in var/ (mode 600) so that
    every later run prints the same, still valid, credentials."""
    path = path or credentials_path()
    creds = _load_credentials(path)
    team = Team.objects.get(name=DEFAULT_TEAM)
    logins = []
    for username, role, superuser in (
        ("admin", roles.SOC_ADMIN, True),
        ("analyst", roles.ANALYST, False),
    ):
        password = creds.get(username) or secrets.token_urlsafe(12)
        creds[username] = password
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = superuser
        user.is_superuser = superuser
        user.is_active = True
        if not user.check_password(password):
            user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=role))
        team.members.add(user)
        logins.append(DemoLogin(username, password, role))
    _save_credentials(path, creds)
    return logins


def ensure_demo_data(now: datetime | None = None) -> bool:
    """Create the sample data unless it exists; True when it was created now."""
    from events.models import Source

    if Source.objects.filter(name=DEMO_MARKER_SOURCE).exists():
        return False
    with transaction.atomic():
        _DemoData(now or datetime.now(tz=UTC)).create()
    return True


class _DemoData:
    def __init__(self, now: datetime) -> None:
        self.now = now.replace(microsecond=0)
        self.rng = random.Random(20261128)  # the same story every time
        self.team = Team.objects.get(name=DEFAULT_TEAM)
        self.analyst = User.objects.filter(username="analyst").first()

    def create(self) -> None:
        self._assets()
        self._intel()
        self._sources_and_types()
        self._events()
        self._detections()
        self._connectors()

    # ---- inventory and intel --------------------------------------------------------

    def _assets(self) -> None:
        from assets.models import Asset, AssetType

        types = {
            name: AssetType.objects.get_or_create(name=name, defaults={"description": d})[0]
            for name, d in (
                ("server", "A server"),
                ("workstation", "A user's computer"),
                ("firewall", "A network firewall"),
                ("domain controller", "An Active Directory DC"),
            )
        }
        self.assets = {}
        for name, kind, ip, os_name, critical in (
            ("web-01", "server", "10.0.10.5", "Debian 12", True),
            ("dc-01", "domain controller", "10.0.10.10", "Windows Server 2022", True),
            ("fw-edge", "firewall", "10.0.0.1", "OPNsense 24.7", True),
            ("ws-alice", "workstation", "10.0.20.15", "Windows 11", False),
        ):
            self.assets[name] = Asset.objects.create(
                name=name,
                asset_type=types[kind],
                ip_address=ip,
                hostname=name,
                operating_system=os_name,
                is_critical=critical,
                team=self.team,
            )

    def _intel(self) -> None:
        from intel.models import IOC, ThreatIntel

        self.blocklist = ThreatIntel.objects.create(
            source_name="Demo blocklist",
            intel_type="manual",
            confidence_score=0.8,
            description="Indicators an analyst collected by hand.",
        )
        self.iocs = {
            value: IOC.objects.create(
                intel=self.blocklist,
                ioc_type=kind,
                value=value,
                confidence_score=0.9,
                first_seen=self.now - timedelta(days=9),
                description=desc,
            )
            for kind, value, desc in (
                ("ipv4", ATTACKER_IP, "Tor exit node seen brute-forcing SSH"),
                ("domain", BAD_DOMAIN, "Fake software-update domain serving a loader"),
                (
                    "sha256",
                    "9f2b0c6a6f1d2e3c4b5a69788796a5b4c3d2e1f00112233445566778899aabb",
                    "Loader dropped by the fake update",
                ),
            )
        }

    def _sources_and_types(self) -> None:
        from events.models import EventType, Source

        self.sources = {
            name: Source.objects.create(
                name=name, source_type=kind, format=fmt, team=self.team, description=desc
            )
            for name, kind, fmt, desc in (
                (DEMO_MARKER_SOURCE, "network", "syslog", "Edge firewall and SSH jump host logs"),
                ("demo-web", "application", "access", "nginx on web-01"),
                ("demo-dc", "endpoint", "windows", "Security log of dc-01"),
                ("demo-ids", "network", "suricata", "Suricata sensor on the DMZ"),
            )
        }
        self.types = {
            name: EventType.objects.get_or_create(
                name=name, defaults={"category": cat, "severity_default": sev}
            )[0]
            for name, cat, sev in (
                ("authentication_failure", "authentication", 2),
                ("authentication_success", "authentication", 1),
                ("network_connection", "network", 1),
                ("http_request", "web", 1),
                ("dns_query", "network", 1),
                ("ids_alert", "intrusion_detection", 3),
            )
        }

    # ---- events ----------------------------------------------------------------------

    def _record(
        self, source: str, kind: str, at: datetime, raw: str, data: dict, **cols: Any
    ) -> tuple[str, EventRecord]:
        from events.records import EventRecord

        ecs = {"@timestamp": at.isoformat(), "event": {"kind": "event"}, **data}
        return source, EventRecord(
            event_time=at,
            event_type=kind,
            raw_data=raw,
            normalized_data=ecs,
            event_type_id=self.types[kind].pk,
            **cols,
        )

    def _events(self) -> None:
        from events.services import events_store

        rows = self._background() + self._brute_force() + self._bad_domain()
        by_source: dict[str, list] = {}
        for source, record in rows:
            by_source.setdefault(source, []).append(record)
        for source, records in by_source.items():
            events_store(source=self.sources[source], records=records)
        self.rows = rows

    def _background(self) -> list:
        out = []
        start = self.now - timedelta(hours=48)
        paths = ["/", "/login", "/static/app.js", "/api/orders", "/health"]
        for i in range(480):
            at = start + timedelta(seconds=i * 360 + self.rng.randint(0, 300))
            client = f"198.51.100.{self.rng.randint(2, 250)}"
            path = self.rng.choice(paths)
            status = self.rng.choice([200, 200, 200, 304, 404])
            raw = (
                f'{client} - - [{at:%d/%b/%Y:%H:%M:%S +0000}] "GET {path} HTTP/1.1" '
                f'{status} {self.rng.randint(200, 9000)} "-" "Mozilla/5.0"'
            )
            out.append(
                self._record(
                    "demo-web",
                    "http_request",
                    at,
                    raw,
                    {
                        "source": {"ip": client},
                        "destination": {"ip": "10.0.10.5", "port": 443},
                        "url": {"path": path},
                        "http": {"response": {"status_code": status}},
                        "event": {"category": ["web"], "type": ["access"]},
                        "host": {"name": "web-01"},
                    },
                    source_ip=client,
                    dest_ip="10.0.10.5",
                    dest_port=443,
                    protocol="tcp",
                    asset_id=self.assets["web-01"].pk,
                )
            )
            if i % 4 == 0:
                src = f"10.0.20.{self.rng.randint(10, 60)}"
                raw = (
                    f"<134>{at:%b %d %H:%M:%S} fw-edge filterlog: pass,in,{src},"
                    f"93.184.216.34,tcp,{self.rng.randint(1024, 65000)},443"
                )
                out.append(
                    self._record(
                        DEMO_MARKER_SOURCE,
                        "network_connection",
                        at,
                        raw,
                        {
                            "source": {"ip": src},
                            "destination": {"ip": "93.184.216.34", "port": 443},
                            "network": {"transport": "tcp"},
                            "event": {"action": "pass"},
                        },
                        source_ip=src,
                        dest_ip="93.184.216.34",
                        dest_port=443,
                        protocol="tcp",
                    )
                )
        return out

    def _brute_force(self) -> list:
        out = []
        start = self.now - timedelta(hours=3, minutes=12)
        users = ["root", "admin", "deploy", "ubuntu", "test"]
        for i in range(40):
            at = start + timedelta(seconds=i * 6)
            user = users[i % len(users)]
            port = 40000 + i
            raw = (
                f"<38>{at:%b %d %H:%M:%S} web-01 sshd[2211]: Failed password for {user} "
                f"from {ATTACKER_IP} port {port} ssh2"
            )
            out.append(
                self._record(
                    DEMO_MARKER_SOURCE,
                    "authentication_failure",
                    at,
                    raw,
                    {
                        "source": {"ip": ATTACKER_IP, "port": port},
                        "user": {"name": user},
                        "event": {
                            "category": ["authentication"],
                            "outcome": "failure",
                            "action": "ssh_login",
                        },
                        "host": {"name": "web-01"},
                        "process": {"name": "sshd"},
                    },
                    source_ip=ATTACKER_IP,
                    source_port=port,
                    dest_ip="10.0.10.5",
                    dest_port=22,
                    protocol="tcp",
                    asset_id=self.assets["web-01"].pk,
                )
            )
        at = start + timedelta(seconds=40 * 6 + 9)
        raw = (
            f"<38>{at:%b %d %H:%M:%S} web-01 sshd[2211]: Accepted password for deploy "
            f"from {ATTACKER_IP} port 40077 ssh2"
        )
        out.append(
            self._record(
                DEMO_MARKER_SOURCE,
                "authentication_success",
                at,
                raw,
                {
                    "source": {"ip": ATTACKER_IP, "port": 40077},
                    "user": {"name": "deploy"},
                    "event": {
                        "category": ["authentication"],
                        "outcome": "success",
                        "action": "ssh_login",
                    },
                    "host": {"name": "web-01"},
                },
                source_ip=ATTACKER_IP,
                source_port=40077,
                dest_ip="10.0.10.5",
                dest_port=22,
                protocol="tcp",
                asset_id=self.assets["web-01"].pk,
            )
        )
        self.brute_force_window = (start, at)
        return out

    def _bad_domain(self) -> list:
        at = self.now - timedelta(minutes=47)
        raw = json.dumps(
            {
                "timestamp": at.isoformat(),
                "event_type": "dns",
                "src_ip": "10.0.20.15",
                "dest_ip": "10.0.10.10",
                "proto": "UDP",
                "dns": {"type": "query", "rrname": BAD_DOMAIN, "rrtype": "A"},
            }
        )
        row = self._record(
            "demo-ids",
            "dns_query",
            at,
            raw,
            {
                "source": {"ip": "10.0.20.15"},
                "destination": {"ip": "10.0.10.10", "port": 53},
                "dns": {"question": {"name": BAD_DOMAIN, "type": "A"}},
                "network": {"transport": "udp", "protocol": "dns"},
            },
            source_ip="10.0.20.15",
            dest_ip="10.0.10.10",
            dest_port=53,
            protocol="udp",
            asset_id=self.assets["ws-alice"].pk,
        )
        self.dns_event = row[1]
        return [row]

    # ---- what detection and an analyst made of it -------------------------------------

    def _detections(self) -> None:
        from correlation.models import Correlation, CorrelationEvent, CorrelationRule
        from incidents.models import Severity
        from incidents.services import alert_create, alert_update, incident_create
        from intel.models import IocMatch

        brute_rule = CorrelationRule.objects.create(
            name="Demo: SSH brute force",
            rule_type="event_count",
            time_window=300,
            threshold=20,
            level="high",
            status="test",
            techniques=["T1110.001"],
            definition=DEMO_BRUTE_FORCE_RULE,
            description="Many failed SSH logins from one IP.",
        )
        domain_rule = CorrelationRule.objects.create(
            name="Demo: blocklisted domain resolved",
            rule_type="ioc_match",
            level="medium",
            status="test",
            techniques=["T1071.004"],
            definition=DEMO_DOMAIN_RULE,
            description="A DNS query for a domain on a blocklist.",
        )
        failures = [r for s, r in self.rows if r.event_type == "authentication_failure"]
        start, end = self.brute_force_window
        correlation = Correlation.objects.create(
            name=f"SSH brute force from {ATTACKER_IP}",
            rule=brute_rule,
            start_time=start,
            end_time=end,
            event_count=len(failures),
            confidence_score=0.95,
            metadata={"group_by": {"source.ip": ATTACKER_IP}},
        )
        CorrelationEvent.objects.bulk_create(
            CorrelationEvent(correlation=correlation, event_id=r.event_id, event_time=r.event_time)
            for r in failures
        )
        severities = {s.name: s for s in Severity.objects.all()}
        brute_alert = alert_create(
            title=f"SSH brute force from {ATTACKER_IP} against web-01",
            severity=severities["high"],
            team=self.team,
            rule=brute_rule,
            correlation=correlation,
            group_key=f"source.ip={ATTACKER_IP}",
            description="40 failed SSH logins in 4 minutes, then a successful login as deploy.",
            # Hand-made demo alerts keep free-form details, outside the engine's contract.
            details=cast(
                "AlertDetails",
                {
                    "source.ip": ATTACKER_IP,
                    "host.name": "web-01",
                    "user.name": "deploy",
                    "failures": len(failures),
                },
            ),
            triggered_at=end,
        )
        domain_alert = alert_create(
            title=f"ws-alice resolved blocklisted domain {BAD_DOMAIN}",
            severity=severities["medium"],
            team=self.team,
            rule=domain_rule,
            group_key=f"dns.question.name={BAD_DOMAIN}",
            details=cast(
                "AlertDetails", {"source.ip": "10.0.20.15", "dns.question.name": BAD_DOMAIN}
            ),
            triggered_at=self.dns_event.event_time,
        )
        IocMatch.objects.create(
            ioc=self.iocs[BAD_DOMAIN],
            event_id=self.dns_event.event_id,
            event_time=self.dns_event.event_time,
            field="dns.question.name",
        )
        if self.analyst is not None:
            alert_update(alert=domain_alert, actor=self.analyst, status="acknowledged")
            incident_create(
                actor=self.analyst,
                title="Possible compromise of web-01 via SSH",
                team=self.team,
                priority="high",
                assigned_to=self.analyst,
                description="Brute force from a Tor exit ended in a login as deploy.",
                alerts=[brute_alert],
            )

    # ---- response -------------------------------------------------------------------

    def _connectors(self) -> None:
        """A connector every response action can use on a laptop: it runs echo, so the
        demo shows an action's exit status and output without touching a firewall."""
        from incidents.models import Connector

        Connector.objects.get_or_create(
            name="demo: echo",
            defaults={
                "kind": "command",
                "command": ["echo", "demo would act on", "{target}", "for", "{incident}"],
                "action_types": ["block_ip", "disable_account", "isolate_host"],
            },
        )


DEMO_BRUTE_FORCE_RULE = """\
title: Demo SSH brute force
id: 3d6c2d0a-8f64-4c55-9a53-6c8e7b1f0a11
name: demo_ssh_failed_login
status: test
description: A failed SSH password login.
logsource:
  product: linux
  service: sshd
detection:
  selection:
    event.outcome: failure
    process.name: sshd
  condition: selection
level: low
---
title: Demo SSH brute force from one source
id: 5b2f3f4e-1c8a-4d0e-b2a7-9e61f0c3d722
status: test
correlation:
  type: event_count
  rules:
    - demo_ssh_failed_login
  group-by:
    - source.ip
  timespan: 5m
  condition:
    gte: 20
level: high
tags:
  - attack.credential-access
  - attack.t1110.001
"""

DEMO_DOMAIN_RULE = """\
title: Demo blocklisted domain resolved
id: 7a1e9c55-0d3b-4f7a-8e21-4b6d2c9f8e33
status: test
description: A DNS query for a domain the demo blocklist names.
logsource:
  category: dns
detection:
  selection:
    dns.question.name: evil-update.example
  condition: selection
level: medium
tags:
  - attack.command-and-control
  - attack.t1071.004
"""
