"""Tags and summaries for every operation of the OpenAPI schema, decided in one place.

drf-spectacular tags an operation with the first segment of its path ("api" for all of
/api/v1/) and gives it no summary, so /api/docs/ was one list of 100 unlabelled lines.
Here the tag comes from the resource in the URL (or, for a resource not listed, from the
app the view lives in) and the summary from, in order: the view's ``extend_schema``
summary, ``SUMMARIES`` below, the standard action on a model ("List alerts"), the first
sentence of the view's docstring. Views need not do anything; a view whose operation
would still be unnamed gets one made from its operation id, so nothing is ever blank.

A view may also document the path parameter it looks objects up by with a
``lookup_parameter`` (an OpenApiParameter named ``id``): incidents take a number too.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc

API_PREFIX = "/api/v1/"

# The tags, in the order /api/docs/ shows them (SPECTACULAR_SETTINGS["TAGS"]).
TAGS: list[dict[str, str]] = [
    {"name": "Alerts", "description": "The alert queue: triage, comments, mutes, escalation."},
    {
        "name": "Incidents",
        "description": "Cases: assignment, linked alerts, tasks, comments, evidence, "
        "timeline and response actions. An incident is named by its id or its number.",
    },
    {"name": "Reports", "description": "Incident reports and the SOC summary, as PDF or CSV."},
    {"name": "Events", "description": "Stored events: listing, search, event types."},
    {
        "name": "Ingest",
        "description": "Sending logs with a source's ingest token, the sources and their "
        "tokens, and the quarantine of records that could not be parsed (docs/INGESTION.md).",
    },
    {
        "name": "Rules",
        "description": "Correlation rules (Sigma): editing, testing, backtests, versions, "
        "and the correlations they count.",
    },
    {"name": "Assets", "description": "The asset inventory and its asset types."},
    {"name": "Intel", "description": "Threat intelligence sources and their IOCs."},
    {"name": "Dashboard", "description": "The SOC dashboard's figures."},
    {
        "name": "Saved views",
        "description": "Saved filters of the alert queue and event search: one's own and "
        "those others shared, as the console's pages list them.",
    },
    {"name": "Auth", "description": "Who the caller is, and JWTs for integrations."},
    {"name": "Admin", "description": "Teams, users and the audit log."},
]

# First path segment under /api/v1/ -> tag.
RESOURCE_TAGS = {
    "alerts": "Alerts",
    "alert-mutes": "Alerts",
    "severities": "Alerts",
    "incidents": "Incidents",
    "response-actions": "Incidents",
    "reports": "Reports",
    "events": "Events",
    "event-types": "Events",
    "ingest": "Ingest",
    "sources": "Ingest",
    "quarantine": "Ingest",
    "rules": "Rules",
    "correlations": "Rules",
    "assets": "Assets",
    "asset-types": "Assets",
    "iocs": "Intel",
    "threat-intel": "Intel",
    "dashboard": "Dashboard",
    "saved-views": "Saved views",
    "auth": "Auth",
    "me": "Auth",
    "teams": "Admin",
    "users": "Admin",
    "audit": "Admin",
}
# A resource added later and not listed above is tagged by the app of its view.
APP_TAGS = {
    "incidents": "Incidents",
    "correlation": "Rules",
    "events": "Events",
    "assets": "Assets",
    "intel": "Intel",
    "socapp": "Admin",
}
FALLBACK_TAG = "Admin"

# Operations whose action the model does not name well, or whose docstring covers
# several methods or is missing. Keyed by operation id.
SUMMARIES = {
    "api_v1_alerts_partial_update": "Triage an alert (status, close reason, assignee, severity)",
    "api_v1_alerts_comments_list": "An alert's comments",
    "api_v1_alerts_comments_create": "Comment on an alert",
    "api_v1_alerts_escalate_create": "Escalate an alert to a new incident",
    "api_v1_alerts_mute_create": "Mute alerts like this one for a while",
    "api_v1_alerts_related_list": "Alerts sharing an entity with this one",
    "api_v1_alert_mutes_list": "List the active mutes",
    "api_v1_alert_mutes_lift_create": "Lift a mute early",
    "api_v1_incidents_partial_update": "Change an incident (title, status, priority, ...)",
    "api_v1_incidents_assign_create": "Assign an incident",
    "api_v1_incidents_alerts_create": "Link alerts to an incident",
    "api_v1_incidents_timeline_list": "An incident's timeline",
    "api_v1_incidents_comments_list": "An incident's comments",
    "api_v1_incidents_comments_create": "Comment on an incident",
    "api_v1_incidents_actions_list": "An incident's response actions",
    "api_v1_incidents_actions_create": "Request a response action",
    "api_v1_incidents_tasks_list": "An incident's tasks",
    "api_v1_incidents_tasks_create": "Add a task to an incident",
    "api_v1_incidents_tasks_partial_update": "Change a task of an incident",
    "api_v1_incidents_evidence_list": "An incident's evidence files",
    "api_v1_incidents_evidence_create": "Upload an evidence file",
    "api_v1_incidents_evidence_retrieve": "Download an evidence file",
    "api_v1_audit_list": "Read the audit log",
    "api_v1_me_retrieve": "Who the caller is: user, roles, teams",
    "api_v1_dashboard_retrieve": "The dashboard's figures",
    "api_v1_events_search_retrieve": "Search events",
    "api_v1_events_attributes_list": "An event's attributes",
    "api_v1_rules_backtest_create": "Backtest a rule over stored events",
    "api_v1_rules_test_create": "Try a detection rule on one pasted event",
    "api_v1_rules_enable_create": "Enable a rule",
    "api_v1_rules_disable_create": "Disable a rule",
    "api_v1_rules_versions_list": "A rule's saved versions",
    "api_v1_sources_token_create": "Issue a new ingest token for a source",
    "ingest_create": "Send a batch of log records",
}

_CRUD = {
    "list": "List {plural}",
    "retrieve": "Get {a} {singular}",
    "create": "Create {a} {singular}",
    "update": "Replace {a} {singular}",
    "partial_update": "Change {a} {singular}",
    "destroy": "Delete {a} {singular}",
}
_SENTENCE_END = re.compile(r"(?<=[.;])\s")


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, without its full stop."""
    paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
    sentence = _SENTENCE_END.split(paragraph, 1)[0]
    return sentence.rstrip(".;").replace("``", "`")


def _article(word: str) -> str:
    # "a user", "an IOC", "an incident": by the sound, which the first letter mostly tells.
    vowel = word[:1].lower() in "aeio" or word.lower().startswith(("un", "up"))
    return "an" if vowel else "a"


class SocAutoSchema(AutoSchema):
    """REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]."""

    def get_tags(self) -> list[str]:
        resource = self.path.removeprefix(API_PREFIX).split("/", 1)[0]
        if resource in RESOURCE_TAGS:
            return [RESOURCE_TAGS[resource]]
        app = type(self.view).__module__.split(".", 1)[0]
        return [APP_TAGS.get(app, FALLBACK_TAG)]

    def get_summary(self) -> str:
        operation_id = self.get_operation_id()
        return (
            SUMMARIES.get(operation_id)
            or self._model_action_summary()
            or first_sentence(get_doc(self._handler()))
            or self._fallback_summary(operation_id)
        )

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        lookup = getattr(self.view, "lookup_parameter", None)
        if lookup is not None and "{" + lookup.name + "}" in self.path:
            parameters.insert(0, lookup)
        return parameters

    def _fallback_summary(self, operation_id: str) -> str:
        """A plain view's docstring names what it does; a viewset's names the resource,
        not this action of it, so an undocumented action is named after its id."""
        if getattr(self.view, "action", None) is None:
            summary = first_sentence(get_doc(type(self.view)))
            if summary:
                return summary
        return operation_id.removeprefix("api_v1_").replace("_", " ").capitalize()

    def _handler(self) -> Any:
        return getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)

    def _model_action_summary(self) -> str:
        template = _CRUD.get(getattr(self.view, "action", None) or "")
        queryset = getattr(self.view, "queryset", None)
        if template is None or queryset is None:
            return ""
        meta = queryset.model._meta
        singular, plural = str(meta.verbose_name), str(meta.verbose_name_plural)
        return template.format(a=_article(singular), singular=singular, plural=plural)


def add_tags(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular postprocessing hook: declare the tags, in order, with their text."""
    used = {
        tag
        for item in result.get("paths", {}).values()
        for op in item.values()
        for tag in op.get("tags", [])
    }
    result["tags"] = [tag for tag in TAGS if tag["name"] in used]
    return result
