"""The authorization matrix: every route socapp serves x every method x twelve personas,
checked against tests/authz/policy.yaml (docs/SECURITY.md, "Authorization matrix").

- ``test_the_policy_covers_every_route``: a route or method without an entry, or an
  entry that matches nothing, fails the suite (so a new endpoint cannot slip in unseen).
- ``test_http_route``: one test per URL pattern (and probe); each persona's request runs
  in a savepoint rolled back afterwards, against one world built per module.
- ``test_websocket_route``: who may open the live stream, and who hears team A's alerts.
- Controls: the same machinery flags an unguarded view and a stale entry.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from .matrix import Outcome, judge, send, url_for
from .policy import Policy, Row
from .routes import Route, all_routes, http_routes, probe_routes, websocket_routes
from .world import PERSONAS, World, build_world

METRICS_TOKEN = "matrix-metrics-token-0123456789abcdef"  # held by no persona
HTTP_ROUTES = [*http_routes(), *probe_routes()]
WS_ROUTES = websocket_routes()
POLICY = Policy.load()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[World]:
    """Team A's objects and the personas, once for the module; rolled back at its end."""
    evidence = tmp_path_factory.mktemp("evidence")
    with (
        django_db_blocker.unblock(),
        override_settings(EVIDENCE_ROOT=evidence, METRICS_TOKEN=METRICS_TOKEN),
        transaction.atomic(),
    ):
        yield build_world()
        transaction.set_rollback(True)


# ---- reporting ---------------------------------------------------------------------------


def expected_of(row: Row, persona: str) -> str:
    return "allowed" if persona in row.allowed else "denied"


def table(lines: list[tuple[str, str, str, str, str]]) -> str:
    header = ("route", "method", "persona", "expected", "got")
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(5)]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True))
        for line in [header, *lines]
    )


def check(
    rows: list[Row], outcomes: dict[tuple[Row, str], Outcome], policy: Policy | None = None
) -> None:
    """Fail with a readable table of every unexpected allow, deny or error (and of every
    known gap that no longer excuses anything here: the fix landed, remove the gap)."""
    policy = policy or POLICY
    unexpected, excused = [], set()
    for (row, persona), outcome in outcomes.items():
        expected = expected_of(row, persona)
        if outcome.verdict == expected:
            continue
        gap = policy.gap(row, persona, outcome.verdict)
        if gap is not None:
            excused.add(gap)
            continue
        got = f"{outcome.got} ({outcome.verdict})"
        unexpected.append((row.label, row.method, persona, expected, got))
    applying = {g for g in policy.gaps for row in rows if g.applies(row)}
    closed = [f"{g.routes} {g.path} ({g.why})" for g in applying - excused]
    message = []
    if unexpected:
        message.append(f"{len(unexpected)} unexpected answers:\n" + table(unexpected))
    if closed:
        message.append(
            "known gaps that excuse nothing here any more: remove them from known_gaps "
            "in tests/authz/policy.yaml:\n  " + "\n  ".join(closed)
        )
    assert not message, "\n\n".join(message)


# ---- coverage ----------------------------------------------------------------------------


def test_the_policy_covers_every_route() -> None:
    policy = Policy.load()
    rows, missing = [], []
    for route in all_routes():
        found, unsaid = policy.rows(route)
        rows += found
        missing += unsaid
    assert not missing, (
        "routes without a policy entry: add them to tests/authz/policy.yaml\n  "
        + "\n  ".join(missing)
    )
    stale = policy.stale()
    assert not stale, "policy entries that match no route or method:\n  " + "\n  ".join(stale)
    idle = [f"{g.routes} {g.path}" for g in policy.gaps if not any(map(g.applies, rows))]
    assert not idle, "known gaps that match no row of the matrix:\n  " + "\n  ".join(idle)
    assert set(policy.descriptions) == set(PERSONAS), "personas: describe each one, once"


# ---- HTTP ----------------------------------------------------------------------------------


def run_rows(rows: list[Row], world: World) -> dict[tuple[Row, str], Outcome]:
    outcomes = {}
    for row in rows:
        url = url_for(row, world)
        for name, persona in world.personas.items():
            outcomes[(row, name)] = judge(send(row, persona, url, world), url, row.method)
    return outcomes


@pytest.fixture(autouse=True)
def _no_carried_over_rates() -> None:
    """Rate limits count in the cache: start each route's requests from zero, so that a
    limit on failed logins or tokens cannot turn this route's answers into 429s because
    of the routes before it (the matrix checks permissions, not rates)."""
    from django.core.cache import cache

    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("route", HTTP_ROUTES, ids=lambda r: r.path)
def test_http_route(route: Route, world: World) -> None:
    rows, missing = POLICY.rows(route)
    assert not missing, f"no policy for {missing}"
    check(rows, run_rows(rows, world))


# ---- websockets ------------------------------------------------------------------------


def _headers(persona) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://localhost")]
    if persona.session_key:
        cookie = f"{settings.SESSION_COOKIE_NAME}={persona.session_key}"
        headers.append((b"cookie", cookie.encode()))
    if persona.bearer:
        headers.append((b"authorization", f"Bearer {persona.bearer}".encode()))
    return headers


async def _listen(route: Route, world: World, push) -> dict[str, dict[str, Outcome]]:
    """CONNECT: is the handshake accepted; PUSH: does team A's alert nudge arrive."""
    from socapp.roof.asgi import application

    results: dict[str, dict[str, Outcome]] = {"CONNECT": {}, "PUSH": {}}
    open_ones = {}
    for name, persona in world.personas.items():
        communicator = WebsocketCommunicator(application, route.path, headers=_headers(persona))
        connected, code = await communicator.connect(timeout=5)
        if connected:
            results["CONNECT"][name] = Outcome("allowed", "accepted")
            open_ones[name] = communicator
        else:
            results["CONNECT"][name] = Outcome("denied", f"closed {code}")
            results["PUSH"][name] = Outcome("denied", "not connected")
    alert_id = await sync_to_async(push)()

    async def heard(name: str, communicator: WebsocketCommunicator) -> None:
        try:
            message = await communicator.receive_json_from(timeout=3)
        except TimeoutError:  # the communicator has stopped the consumer
            results["PUSH"][name] = Outcome("denied", "nothing heard")
            return
        ok = message.get("id") == alert_id
        results["PUSH"][name] = Outcome("allowed" if ok else "error", f"heard {message}")
        await communicator.disconnect()

    await asyncio.gather(*(heard(n, c) for n, c in open_ones.items()))
    return results


@pytest.mark.django_db
@pytest.mark.parametrize("route", WS_ROUTES, ids=lambda r: r.path)
def test_websocket_route(
    route: Route, world: World, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from incidents.models import Alert
    from incidents.services import alert_update

    # Channels closes "old" database connections around each database call, which would
    # close this test's open transaction; Django's test client stops the same clean-up
    # for HTTP requests (request_started/finished), for the same reason.
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)

    rows, missing = POLICY.rows(route)
    assert not missing, f"no policy for {missing}"

    def push() -> str:
        alert = Alert.objects.get(pk=world.obj("incidents.alert").pk)  # as this test sees it
        with django_capture_on_commit_callbacks(execute=True):
            alert_update(alert=alert, actor=world.users["manager"], status="acknowledged")
        return str(alert.pk)

    results = async_to_sync(_listen)(route, world, push)
    check(rows, {(row, n): results[row.method][n] for row in rows for n in world.personas})


# ---- controls: the matrix can fail -----------------------------------------------------


CONTROL_URLCONF = "tests.authz.control_urls"


def test_control_a_new_route_without_an_entry_fails_the_coverage_check() -> None:
    policy = Policy.load()
    missing = [m for r in http_routes(urlconf=CONTROL_URLCONF) for m in policy.rows(r)[1]]
    assert missing == ["/api/v1/leak/ GET  (name: leak)", "/api/v1/leak/ POST  (name: leak)"]


def test_control_an_entry_for_nothing_is_stale() -> None:
    document = {"groups": POLICY.groups, "routes": {**POLICY.routes, "api:gone": {"GET": []}}}
    policy = Policy(document)
    for route in all_routes():
        policy.rows(route)
    assert policy.stale() == ["api:gone GET"]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=CONTROL_URLCONF)
def test_control_an_unguarded_view_is_an_unexpected_allow(world: World) -> None:
    (route,) = [r for r in http_routes(urlconf=CONTROL_URLCONF) if r.name == "leak"]
    policy = Policy({"groups": POLICY.groups, "routes": {"leak": {"*": "nobody_at_all"}}})
    rows, _ = policy.rows(route)
    with pytest.raises(AssertionError) as failure:
        check(rows, run_rows(rows, world), policy)
    report = str(failure.value)
    assert "24 unexpected answers" in report  # 2 methods x 12 personas
    assert re.search(r"/api/v1/leak/ +GET +anonymous +denied +200 \(allowed\)", report)


@pytest.mark.django_db
def test_control_a_gap_that_excuses_nothing_asks_to_be_removed(world: World) -> None:
    (route,) = [r for r in http_routes() if r.name == "api:me"]
    gap = {"routes": "api:me", "personas": "nobody", "got": "allowed", "why": "fixed"}
    policy = Policy({**POLICY.document, "known_gaps": [gap]})
    rows, _ = policy.rows(route)
    with pytest.raises(AssertionError, match="excuse nothing here any more"):
        check(rows, run_rows(rows, world), policy)
