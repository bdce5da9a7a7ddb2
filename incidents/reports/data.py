"""What a report shows, as format-neutral tables; pdf.py and csv.py only lay it out.

A report is a few facts (key/value), a few titled texts (the description) and sections
(a title, column names, rows). Every row comes through the selectors, so a report
holds exactly what its reader may see on the console's pages.

Cells are typed rather than pre-formatted, because the formats want different things:
a spreadsheet wants seconds and ISO timestamps it can compute with, a PDF wants "2 h 5 min"
and "2026-11-01 14:03 UTC".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from socapp.users import User

from ..models import Incident
from ..selectors import incident_alerts, incident_timeline, response_actions_visible_to


@dataclass(frozen=True)
class Duration:
    """A length of time; CSV writes the seconds, PDF a readable span."""

    seconds: float | None


Cell = str | int | float | datetime | Duration | None


@dataclass
class Section:
    key: str  # the CSV's section column ("alerts"): a fixed word, never user text
    title: str  # the PDF heading
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""  # one sentence under the heading (e.g. what a figure leaves out)


@dataclass
class Report:
    title: str
    filename_stem: str  # "INC-2026-0042", "soc-summary-2026-11-01-2026-11-08"
    marking: str  # printed on every PDF page ("TLP:AMBER")
    facts: list[tuple[str, Cell]]
    texts: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def _name(user: User | None) -> str:
    return user.get_username() if user is not None else ""


# Keys of timeline data that only carry database ids: noise in a report.
_ID_KEYS = {"alert", "task", "asset", "comment", "ioc", "evidence", "action", "event"}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def describe(data: dict[str, Any]) -> str:
    """A timeline entry's data as "key: value; ..." (ids left out)."""
    parts = []
    for key, value in data.items():
        if key in _ID_KEYS and (isinstance(value, int) or _UUID.match(str(value))):
            continue
        parts.append(f"{key}: {_plain(value)}")
    return "; ".join(parts)


def _facts(incident: Incident, reader: Any) -> list[tuple[str, Cell]]:
    return [
        ("Number", incident.number),
        ("Title", incident.title),
        ("Status", incident.get_status_display()),
        ("Priority", incident.get_priority_display()),
        ("TLP", incident.get_tlp_display()),
        ("Type", incident.get_incident_type_display()),
        ("Team", str(incident.team)),
        ("Assignee", _name(incident.assigned_to)),
        ("Opened", incident.created_at),
        ("Opened by", _name(incident.created_by)),
        ("Resolved", incident.resolved_at),
        ("Resolution", incident.get_resolution_display()),
        ("Generated", timezone.now()),
        ("Generated for", _name(reader)),
    ]


def _timeline(incident: Incident) -> Section:
    section = Section("timeline", "Timeline", ["at", "kind", "actor", "details"])
    for entry in incident_timeline(incident):
        section.rows.append(
            [entry.created_at, entry.get_kind_display(), _name(entry.actor), describe(entry.data)]
        )
    return section


def _alerts(incident: Incident) -> Section:
    section = Section(
        "alerts",
        "Linked alerts",
        ["triggered_at", "severity", "title", "rule", "status", "entities"],
    )
    for alert in incident_alerts(incident):
        section.rows.append(
            [
                alert.triggered_at,
                str(alert.severity),
                alert.title,
                alert.rule.name if alert.rule else "",
                alert.get_status_display(),
                ", ".join(alert.entities),
            ]
        )
    return section


def _actions(incident: Incident, reader: Any) -> Section:
    section = Section(
        "actions",
        "Response actions",
        [
            *("requested_at", "type", "target", "connector", "status", "description"),
            *("requested_by", "decided_by", "finished_at", "result"),
        ],
    )
    actions = response_actions_visible_to(reader).filter(incident=incident).order_by("created_at")
    for action in actions:
        section.rows.append(
            [
                action.created_at,
                action.get_action_type_display(),
                action.target,
                getattr(action.connector, "name", ""),
                action.get_status_display(),
                action.description,
                getattr(action.requested_by, "username", ""),
                getattr(action.decided_by, "username", ""),
                action.finished_at,
                action.results.get("summary", "") if action.results else "",
            ]
        )
    return section


def _iocs(incident: Incident) -> Section:
    section = Section("iocs", "Indicators (IOCs)", ["type", "value", "status", "confidence"])
    for ioc in incident.iocs.order_by("ioc_type", "value"):
        section.rows.append(
            [ioc.get_ioc_type_display(), ioc.value, ioc.get_status_display(), ioc.confidence_score]
        )
    return section


def _assets(incident: Incident) -> Section:
    section = Section(
        "assets", "Assets", ["name", "ip_addresses", "hostnames", "criticality", "owner"]
    )
    for asset in incident.assets.order_by("name"):
        section.rows.append(
            [
                asset.name,
                " ".join(asset.ip_addresses),
                " ".join(asset.hostnames),
                asset.criticality,
                asset.owner,
            ]
        )
    return section


def _tasks(incident: Incident) -> Section:
    section = Section("tasks", "Tasks", ["position", "title", "status", "assignee", "completed_at"])
    for task in incident.tasks.select_related("assignee"):
        section.rows.append(
            [
                task.position,
                task.title,
                task.get_status_display(),
                _name(task.assignee),
                task.completed_at,
            ]
        )
    return section


def incident_report(*, reader: Any, incident: Incident) -> Report:
    """The report of one incident. ``incident`` must come from ``incidents_visible_to``
    (or ``incident_detail``) for ``reader``: the caller has already answered "may see"."""
    return Report(
        title=f"{incident.number} · {incident.title}",
        filename_stem=incident.number,
        marking=incident.get_tlp_display(),
        facts=_facts(incident, reader),
        texts=[("Description", incident.description)] if incident.description else [],
        sections=[
            _timeline(incident),
            _alerts(incident),
            _actions(incident, reader),
            _iocs(incident),
            _assets(incident),
            _tasks(incident),
        ],
    )
