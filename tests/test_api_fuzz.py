"""schemathesis against the whole REST API, in process, with each role's token.

Every operation of the committed schema (docs/openapi.yaml, which
tests/test_openapi_schema.py keeps equal to the one served) gets requests generated from
the schema, some that fit it and some that do not, sent with a real token of each role
(analyst, incident manager, SOC admin, auditor, integration) and, for /api/v1/ingest/,
a source ingest token. About half of the requests to detail and action routes aim at
real objects (an alert, an incident with its task, comment, evidence and response action,
a rule, a source, ...), and about half of the JSON bodies name real teams, users, alerts
and connectors, so requests get past the 404 or 400 into the code behind them. Every
answer must not be a 5xx and must conform to the schema: a documented status code,
content type and body.

Bounded and reproducible: API_FUZZ_EXAMPLES examples per operation and role (10 by
default), derandomized (the same requests every run). bench/api_fuzz.sh runs more and
writes the figures (API_FUZZ_REPORT) for docs/SECURITY.md.

The requests go through Django's WSGI handler, in this process and this test's database
transaction: the same URLs, middleware and views as the ASGI application serves (an ASGI
handler would run the views in another thread, outside the transaction). Each request is
rolled back afterwards (a savepoint), so every request meets the same seeded world.
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from correlation.services.rules import rule_save
from events.models import EventType
from events.services import events_store, source_create
from incidents.models import Severity
from incidents.services import alert_create, evidence_add, incident_comment, task_add
from incidents.services.actions import action_request
from incidents.services.cases import incident_create
from incidents.services.mutes import alert_mute
from socapp.jwt_sessions import jwt_session_open
from socapp.services import api_token_create, saved_view_create
from tests.conftest import PASSWORD, ROOT
from tests.factories import (
    AssetFactory,
    ConnectorFactory,
    CorrelationFactory,
    IOCFactory,
    event_record,
    severity,
)

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "10"))
REPORT = os.environ.get("API_FUZZ_REPORT")  # bench/api_fuzz.sh gathers figures here
ROLES = ["analyst_a", "manager", "soc_admin", "auditor", "integration"]
INGEST = "POST /api/v1/ingest/"

SCHEMA = schemathesis.openapi.from_path(str(ROOT / "docs" / "openapi.yaml"))
SCHEMA.app = WSGIHandler()


def _operation(result):  # an operation the schema cannot describe fails the module
    if isinstance(result, Ok):
        return result.ok()
    raise result.err()


OPERATIONS = [_operation(result) for result in SCHEMA.get_all_operations()]

load_all_checks()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
RULE = """title: SSH failures
id: 5f2b1a4e-2f0b-4c1a-9a43-0d1f0c2b7a11
logsource: {product: linux, service: sshd}
detection: {sel: {event.outcome: failure}, condition: sel}
level: high
"""


@dataclass
class World:
    """What the seeded world holds: object ids by the collection a path parameter
    points into, and real values for the body fields that name other objects."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, collection: str, *objects: Any) -> None:
        self.ids.setdefault(collection, []).extend(str(o.pk) for o in objects)


@pytest.fixture
def world(analyst_a, analyst_b, manager, soc_admin, team_a, team_b, settings, tmp_path) -> World:
    settings.EVIDENCE_ROOT = tmp_path
    # The JWT endpoints run their real code (they answer 404 while JWTs are off). Their
    # refused refresh tokens would count toward the token throttle of 127.0.0.1, which
    # is not rolled back with each request, and soon answer 429 to every later token.
    settings.JWT_ENABLED = True
    settings.JWT_SIGNING_KEY = "api-fuzz-jwt-signing-key-" + "f" * 32
    settings.TOKEN_FAILURE_LIMIT = 10**9
    now = datetime.now(tz=UTC)
    source, _ = source_create(name="fw-1", log_format="syslog", team=team_a, actor=soc_admin)
    event_ids = events_store(
        source=source, records=[event_record(now - timedelta(minutes=m)) for m in (1, 2, 3)]
    )
    rule = rule_save(actor=soc_admin, definition=RULE, team=team_a)
    alert = alert_create(
        title="SSH brute force",
        severity=severity("high"),
        team=team_a,
        details={"entities": {"source.ip": "192.0.2.10", "user.name": "root"}},
    )
    other_team_alert = alert_create(title="theirs", severity=severity("low"), team=team_b)
    noisy = alert_create(title="noisy", severity=severity("low"), team=team_a)
    mute = alert_mute(alert=noisy, actor=analyst_a, duration=timedelta(hours=1), reason="test")
    incident = incident_create(actor=analyst_a, title="case", team=team_a, priority="critical")
    task_add(incident=incident, actor=analyst_a, title="Collect logs")
    incident_comment(incident=incident, actor=analyst_a, body="first look")
    evidence = evidence_add(
        incident=incident, actor=analyst_a, name="a.pcap", content=io.BytesIO(b"pcap")
    )
    connector = ConnectorFactory.create(name="firewall")
    action = action_request(
        incident=incident,
        actor=analyst_a,
        action_type="block_ip",
        connector=connector,
        parameters={"ip": "192.0.2.10"},
    )
    correlation = CorrelationFactory()
    asset = AssetFactory.create(team=team_a)
    ioc = IOCFactory.create()
    own_view = saved_view_create(
        owner=analyst_a, page="alerts", name="criticals", query="severity=critical"
    )
    shared_view = saved_view_create(
        owner=manager, page="events", name="ssh", query="q=destination.port%3A22", shared=True
    )

    w = World()
    w.add("alerts", alert, other_team_alert)
    w.add("alert-mutes", mute)
    w.add("incidents", incident)
    w.add("incident", incident)  # /reports/incident/{id}/
    w.add("evidence", evidence)
    w.add("response-actions", action)
    w.add("rules", rule, correlation.rule)
    w.add("correlations", correlation)
    w.add("assets", asset)
    w.add("asset-types", asset.asset_type)
    w.add("iocs", ioc)
    w.add("threat-intel", ioc.intel)
    w.add("sources", source)
    w.add("event-types", *EventType.objects.all()[:2])
    w.add("severities", *Severity.objects.all()[:2])
    w.add("teams", team_a, team_b)
    w.add("users", analyst_a, manager)
    w.add("saved-views", own_view, shared_view)
    w.ids["events"] = [str(i) for i in event_ids]
    w.values = {
        "team": [team_a.name, team_b.name],
        "assignee": [analyst_a.username, manager.username, None],
        "connector": [connector.name],
        "alerts": [[str(alert.pk)], [str(other_team_alert.pk)]],
        "asset_type": [asset.asset_type.name],
        "intel": [ioc.intel.source_name],
        "definition": [RULE],
        # Some exchanges and refreshes succeed, so their answers are checked too.
        "username": [analyst_a.username],
        "password": [PASSWORD],
        "refresh": [jwt_session_open(user=analyst_a, address=None, second_factor=False).refresh],
    }
    return w


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """Django closes the database connection around each request; inside a test's
    transaction it must not (Django's own test client disconnects it the same way)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@dataclass
class Outcome:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)


def _collection(path: str, parameter: str) -> str:
    """The collection a path parameter points into: the segment before it."""
    segments = path.strip("/").split("/")
    return segments[segments.index("{" + parameter + "}") - 1]


def _aim_at_the_world(case, world: World, data) -> None:
    for name in list(case.path_parameters or {}):
        real = world.ids.get(_collection(case.operation.path, name))
        if real and data.draw(st.booleans()):
            case.path_parameters[name] = data.draw(st.sampled_from(real))
    if isinstance(case.body, dict):
        for name in sorted(set(case.body) & set(world.values)):
            if data.draw(st.booleans()):
                case.body[name] = data.draw(st.sampled_from(world.values[name]))


def fuzz(operation, token: str, world: World, outcome: Outcome) -> None:
    """EXAMPLES requests to ``operation``, fitting the schema or not; failures counted,
    with the first example of each kind kept (the run goes on: a report, not a shrink)."""
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    headers = {"Authorization": f"Bearer {token}"}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, data=st.data())
    def run(case, data) -> None:
        _aim_at_the_world(case, world, data)
        savepoint = transaction.savepoint()
        try:
            response = case.call(headers=headers)
        finally:
            transaction.savepoint_rollback(savepoint)
        outcome.requests += 1
        outcome.statuses[response.status_code // 100 * 100] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = f"{operation.label}: {failure.title} ({response.status_code})"
                outcome.failures[key] += 1
                curl = case.as_curl_command(headers=headers)
                outcome.examples.setdefault(key, f"{str(failure)[:600]}\n{curl[:600]}")

    run()


def _summary(outcome: Outcome) -> str:
    listing = "\n".join(f"  {key} x{n}" for key, n in sorted(outcome.failures.items()))
    examples = "\n\n".join(f"{key}:\n{outcome.examples[key]}" for key in sorted(outcome.failures))
    return f"{len(outcome.failures)} kinds of failure:\n{listing}\n\nFirst of each:\n{examples}"


def _report(who: str, operations: int, outcome: Outcome) -> None:
    if REPORT:
        figures = {
            "who": who,
            "operations": operations,
            "examples": EXAMPLES,
            "requests": outcome.requests,
            "statuses": {str(k): v for k, v in sorted(outcome.statuses.items())},
            "server_errors": outcome.statuses[500],
            "failures": dict(outcome.failures),
        }
        with Path(REPORT).open("a") as handle:
            handle.write(json.dumps(figures) + "\n")


def test_the_operations_are_all_there():
    labels = {operation.label for operation in OPERATIONS}
    assert len(labels) >= 95
    assert {INGEST, "GET /api/v1/events/search/", "POST /api/v1/incidents/{id}/tasks/"} <= labels


@pytest.mark.parametrize("role", ROLES)
def test_no_server_errors_and_no_schema_violations(request, role, world, in_process_requests):
    user = request.getfixturevalue(role)
    token = api_token_create(user=user, actor=user, expires_days=1)[1]
    outcome = Outcome()
    operations = [op for op in OPERATIONS if op.label != INGEST]
    for operation in operations:
        fuzz(operation, token, world, outcome)
    _report(role, len(operations), outcome)
    assert outcome.requests >= len(operations) * EXAMPLES // 2
    assert outcome.statuses[200] > 0 and outcome.statuses[400] > 0
    assert not outcome.failures, _summary(outcome)


def test_ingest_with_a_source_token(team_a, soc_admin, in_process_requests):
    _, token = source_create(name="fw-9", log_format="json", team=team_a, actor=soc_admin)
    [operation] = [op for op in OPERATIONS if op.label == INGEST]
    outcome = Outcome()
    fuzz(operation, token, World(), outcome)
    _report("source token", 1, outcome)
    assert outcome.statuses[200] > 0
    assert not outcome.failures, _summary(outcome)
