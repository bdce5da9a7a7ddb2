"""An incident's observables, and what an alert brings along when it joins an incident
(its comments and its entities).

Threat intel is reached through its services and selectors only: an analyst's
observable finds its IOC, or creates one in the "analyst" source."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from intel.selectors import iocs_with_values
from intel.services import INDICATOR_KINDS, indicator, ioc_for_analyst
from socapp.audit import audit_record
from socapp.text import refuse_nul
from socapp.users import User

from ..choices import ObservableKind, ObservableSource, TimelineKind
from ..entities import split_entity
from ..models import Alert, Incident, IncidentComment, Observable
from .journal import timeline

# Alert entity kinds that are observables, and the IOC type their value would have.
ENTITY_KINDS = {"ip": ObservableKind.IP, "user": ObservableKind.USER, "host": ObservableKind.HOST}


def _ioc_type_of(kind: str, value: str) -> str | None:
    if kind == ObservableKind.IP:
        return "ipv6" if ":" in value else "ipv4"
    if kind == ObservableKind.USER:
        return "user"
    return None  # a host is an asset matter, not an indicator


def carry_from_alert(incident: Incident, alert: Alert, actor: User | None) -> None:
    """Copy ``alert``'s comments into the incident (author and time kept, marked as from
    the alert) and make its entities the incident's observables, once each. Runs inside
    the caller's transaction (linking alerts)."""
    copied = _copy_comments(incident, alert)
    added = _observables_from_entities(incident, alert, actor)
    if not (copied or added):
        return
    if copied:
        timeline(
            incident,
            TimelineKind.ALERT_COMMENTS_COPIED,
            actor,
            alert=str(alert.pk),
            title=alert.title,
            comments=copied,
        )
    if added:
        timeline(
            incident,
            TimelineKind.OBSERVABLE_ADDED,
            actor,
            alert=str(alert.pk),
            source=ObservableSource.ALERT,
            values=added[:50],
        )
    audit_record(
        actor=actor,
        action="incident.carry_from_alert",
        target=incident,
        changes={"alert": str(alert.pk), "comments": copied, "observables": added},
    )


def _copy_comments(incident: Incident, alert: Alert) -> int:
    if IncidentComment.objects.filter(incident=incident, from_alert=alert).exists():
        return 0
    copies = [
        IncidentComment(
            incident=incident,
            author_id=comment.author_id,
            body=comment.body,
            created_at=comment.created_at,
            from_alert=alert,
        )
        for comment in alert.comments.all()
    ]
    IncidentComment.objects.bulk_create(copies)
    return len(copies)


def _observables_from_entities(incident: Incident, alert: Alert, actor: User | None) -> list[str]:
    wanted: list[tuple[str, str]] = []
    for item in alert.entities:
        kind, value = split_entity(item)
        if kind in ENTITY_KINDS and value:
            wanted.append((ENTITY_KINDS[kind], value))
    if not wanted:
        return []
    known = set(
        incident.observables.filter(value__in=[v for _, v in wanted]).values_list("kind", "value")
    )
    new = [pair for pair in dict.fromkeys(wanted) if pair not in known]
    lookups = [(t, v) for k, v in new if (t := _ioc_type_of(k, v))]
    iocs = iocs_with_values(lookups)
    Observable.objects.bulk_create(
        [
            Observable(
                incident=incident,
                kind=kind,
                value=value,
                source=ObservableSource.ALERT,
                alert=alert,
                ioc=iocs.get((_ioc_type_of(kind, value) or "", value)),
                added_by=actor,
            )
            for kind, value in new
        ],
        ignore_conflicts=True,
    )
    return [f"{kind}:{value}" for kind, value in new]


def observable_add(
    *, incident: Incident, actor: User, kind: str, value: str, description: str = ""
) -> Observable:
    """Add an indicator to the incident as an analyst: ``value`` read as ``kind`` (ip,
    domain, hash, user, url, email) and normalized; its IOC found in threat intel or
    created in the "analyst" source. An observable the incident already has from an alert
    gains the IOC; one it has with an IOC is refused as a duplicate. The caller needs
    ``intel.add_ioc`` besides the right to change the incident."""
    refuse_nul(description=description)
    if not actor.has_perm("intel.add_ioc"):
        # The observable finds or makes an IOC: threat intel is written on the caller's say.
        raise PermissionDenied("Adding an observable needs the right to add IOCs.")
    if kind not in INDICATOR_KINDS:
        raise ValidationError({"kind": f"An observable is one of: {', '.join(INDICATOR_KINDS)}."})
    found = indicator(kind, value)
    with transaction.atomic():
        existing = incident.observables.select_for_update().filter(kind=kind, value=found.value)
        observable = existing.first()
        if observable is not None and observable.ioc_id is not None:
            raise ValidationError(
                {"value": f"{incident.number} already has the observable {found.value}."}
            )
        ioc, created = ioc_for_analyst(
            actor=actor, found=found, note=f"Named on {incident.number} by {actor}."
        )
        if observable is None:
            observable = Observable.objects.create(
                incident=incident,
                kind=kind,
                value=found.value,
                source=ObservableSource.ANALYST,
                ioc=ioc,
                description=description.strip(),
                added_by=actor,
            )
        else:
            observable.ioc = ioc
            observable.save(update_fields=["ioc"])
        incident.iocs.add(ioc)
        timeline(
            incident,
            TimelineKind.OBSERVABLE_ADDED,
            actor,
            source=ObservableSource.ANALYST,
            values=[f"{kind}:{found.value}"],
            ioc_created=created,
        )
        audit_record(
            actor=actor,
            action="incident.add_observable",
            target=incident,
            changes={
                "kind": kind,
                "value": found.value,
                "ioc": str(ioc.pk),
                "ioc_created": created,
            },
        )
    return observable
