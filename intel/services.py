"""Changing threat intel: indicators analysts name while they work a case, and imports.

``indicator`` turns what a person typed (or pasted from a report, defanged or not) into
an indicator's type and canonical value, or refuses it with a message; ``ioc_for_analyst``
finds the IOC with that value in any source or creates one in the "analyst" source.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from socapp.audit import audit_record
from socapp.users import User

from .choices import IntelType
from .imports import Collector, collect
from .imports.store import ImportResult, store
from .models import IOC, ThreatIntel

# Normalization moved to intel.normalize (importers and the matcher read values the same
# way); these names stay importable from here for incidents.
from .normalize import INDICATOR_KINDS, Indicator, domain_name, indicator

__all__ = [
    "INDICATOR_KINDS",
    "Indicator",
    "domain_name",
    "feed_for_import",
    "indicator",
    "intel_import",
    "intel_import_collected",
    "ioc_for_analyst",
]

ANALYST_SOURCE = "analyst"


def _analyst_source() -> ThreatIntel:
    source, _ = ThreatIntel.objects.get_or_create(
        source_name=ANALYST_SOURCE,
        defaults={
            "intel_type": IntelType.MANUAL,
            "description": "Indicators analysts named while working incidents.",
        },
    )
    return source


def ioc_for_analyst(*, actor: User, found: Indicator, note: str = "") -> tuple[IOC, bool]:
    """The IOC for ``found``: an existing one of any source (the oldest), else a new one in
    the "analyst" source (audited). Returns it and whether it was created."""
    existing = (
        IOC.objects.filter(ioc_type=found.ioc_type, value=found.value)
        .order_by("created_at")
        .first()
    )
    if existing is not None:
        return existing, False
    with transaction.atomic():
        ioc, created = IOC.objects.get_or_create(
            intel=_analyst_source(),
            ioc_type=found.ioc_type,
            value=found.value,
            defaults={"description": note[:2000]},
        )
        if created:
            audit_record(
                actor=actor,
                action="ioc.create",
                target=ioc,
                changes={"type": ioc.ioc_type, "value": ioc.value, "source": ANALYST_SOURCE},
            )
    return ioc, created


IMPORT_PERMISSION = "intel.import_threatintel"
DEFAULT_IMPORT_FEED = "imports"


def feed_for_import(*, actor: User | None, name: str | None) -> ThreatIntel:
    """The feed an import goes into, by name (the "imports" feed when none is given),
    created when missing if ``actor`` may add feeds; PermissionDenied otherwise.
    ``actor`` None is the system (the command line, polling): it may do both."""
    if actor is not None and not actor.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied("Importing threat intel needs the import permission.")
    name = (name or DEFAULT_IMPORT_FEED).strip()[:255]
    feed = ThreatIntel.objects.filter(source_name=name).first()
    if feed is not None:
        return feed
    if actor is not None and not actor.has_perm("intel.add_threatintel"):
        raise PermissionDenied(f"There is no feed {name!r}, and only admins add feeds.")
    feed = ThreatIntel.objects.create(
        source_name=name, intel_type=IntelType.REPORT, description="Created by an import."
    )
    audit_record(actor=actor, action="threatintel.create", target=feed, changes={"name": name})
    return feed


def intel_import_collected(
    *, actor: User | None, collector: Collector, fmt: str, feed_name: str | None, origin: str
) -> ImportResult:
    """Write what an importer collected into a feed (one transaction, audited)."""
    with transaction.atomic():
        feed = feed_for_import(actor=actor, name=feed_name)
        return store(actor=actor, feed=feed, collector=collector, fmt=fmt, origin=origin)


def intel_import(
    *,
    actor: User | None,
    data: bytes,
    fmt: str,
    feed_name: str | None = None,
    mapping: str | None = None,
    ioc_type: str | None = None,
    origin: str = "upload",
) -> ImportResult:
    """Import ``data`` (a document of ``fmt``) into a feed, in one transaction, for
    ``actor``: the counts, or ImportRefused / ValueError / PermissionDenied."""
    if actor is not None and not actor.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied("Importing threat intel needs the import permission.")
    collector = collect(fmt, data, mapping=mapping, ioc_type=ioc_type, name=origin)
    return intel_import_collected(
        actor=actor, collector=collector, fmt=fmt, feed_name=feed_name, origin=origin
    )
