"""Replaying the demo day through the ingest path, and correlating it at once.

Every source's day goes in as a file through ``events.files.file_ingest`` - the code
``manage.py ingest`` and uploads use, which parses with the source's parser, normalizes,
enriches and stores through ``events.ingest.events_ingest`` like REST and syslog do. Each
committed batch is then evaluated by ``correlation.services.batch_correlate`` in this
process, so the alerts exist when ``bootstrap --demo`` returns; the message ingestion
sends the correlation worker finds them done (correlation is idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from socapp.models import Team

from .story import BASTION, RESOLVER, WEB, WINDOWS_HOSTS, DemoLogs, Logs

if TYPE_CHECKING:
    from events.models import Source
    from socapp.users import User


@dataclass(frozen=True)
class DemoSource:
    name: str
    source_type: str
    log_format: str
    file_name: str  # the file its shipper would have written
    description: str
    logs: str  # the attribute of DemoLogs holding its day
    senders: tuple[str, ...] = ()


# One source per kind of log, named after the machine and software that write it.
SOURCES = (
    DemoSource(
        "bastion-01 sshd",
        "endpoint",
        "syslog",
        "auth.log",
        "OpenSSH on the internet-facing bastion host bastion-01, forwarded by rsyslog.",
        "sshd",
        senders=(BASTION[1],),
    ),
    DemoSource(
        "Windows workstations and servers",
        "endpoint",
        "windows",
        "winlogbeat.ndjson",
        "Security and System logs of the CORP domain's hosts, shipped by Winlogbeat.",
        "windows",
    ),
    DemoSource(
        "ids-01 Suricata",
        "network",
        "suricata",
        "eve.json",
        "Suricata on the internet uplink: flows and signature alerts (EVE JSON).",
        "suricata",
    ),
    DemoSource(
        "dns-01 resolver",
        "network",
        "zeek",
        "dns.log",
        "Zeek's dns.log of the internal resolver dns-01.",
        "dns",
    ),
    DemoSource(
        "web-01 nginx",
        "application",
        "access",
        "access.log",
        "nginx access log of the public web site on web-01.",
        "web",
    ),
)
MARKER_SOURCE = SOURCES[0].name  # its presence means the demo was loaded

SERVERS = (
    (BASTION[0], BASTION[1], "server", "Debian 12", True),
    (WEB[0], WEB[1], "server", "Debian 12", True),
    (RESOLVER[0], RESOLVER[1], "server", "Debian 12", True),
)


@dataclass
class Replayed:
    events: int = 0
    batches: int = 0
    quarantined: int = 0


def ensure_assets(team: Team) -> None:
    """The inventory the events are enriched with (by address and host name)."""
    from assets.models import Asset, AssetType

    kinds = {
        name: AssetType.objects.get_or_create(name=name, defaults={"description": text})[0]
        for name, text in (
            ("server", "A server"),
            ("workstation", "A user's computer"),
            ("domain controller", "An Active Directory domain controller"),
        )
    }
    machines = [*SERVERS]
    for name, ip, user, kind in WINDOWS_HOSTS:
        system = "Windows 11" if user else "Windows Server 2022"
        machines.append((name, ip, kind, system, user is None))
    for name, ip, kind, system, critical in machines:
        windows = system.startswith("Windows")
        Asset.objects.get_or_create(
            name=name,
            defaults={
                "asset_type": kinds[kind],
                "ip_addresses": [ip],
                "hostnames": [f"{name}.corp.example" if windows else name],
                "operating_system": system,
                "criticality": "critical" if critical else "medium",
                "team": team,
            },
        )
    from assets.index import inventory_changed

    inventory_changed()  # every process's inventory map rebuilds with these


def create_sources(team: Team, actor: User) -> list[tuple[DemoSource, Source]]:
    from events.services import source_create

    return [
        (
            spec,
            source_create(
                name=spec.name,
                log_format=spec.log_format,
                team=team,
                actor=actor,
                source_type=spec.source_type,
                senders=list(spec.senders),
                description=spec.description,
            )[0],
        )
        for spec in SOURCES
    ]


def replay(sources: list[tuple[DemoSource, Source]], logs: DemoLogs) -> Replayed:
    """Each source's file through the ingest path, each batch correlated once stored."""
    from events.files import file_ingest

    done = Replayed()
    for spec, source in sources:
        day: Logs = getattr(logs, spec.logs)
        report = file_ingest(source=source, name=spec.file_name, data=day.file())
        if report.problems:
            raise RuntimeError(f"demo logs of {spec.name} do not load: {report.problems}")
        done.batches += correlate_source(source)
        source.refresh_from_db(fields=["accepted_count", "quarantined_count"])
        done.events += source.accepted_count
        done.quarantined += source.quarantined_count
    return done


def correlate_source(source: Source) -> int:
    """Evaluate the source's committed batches in commit order, as the worker would."""
    from correlation.services import batch_correlate
    from events.models import IngestBatch

    waiting = IngestBatch.objects.filter(source=source, correlated_at__isnull=True)
    batch_ids: list[Any] = list(waiting.order_by("committed_at").values_list("pk", flat=True))
    for batch_id in batch_ids:
        batch_correlate(batch_id=batch_id)
    return len(batch_ids)


def refresh_volumes() -> None:
    """The dashboard's hourly volumes now, not at the next scheduled refresh."""
    from events.services import hourly_summary_refresh

    hourly_summary_refresh()
