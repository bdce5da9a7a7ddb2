"""Running one matrix row: fill the URL from team A's objects, send each persona's
request inside a savepoint that is rolled back, and judge the answer.

What counts as what (the policy file's header says the same to its readers):
- allowed: 2xx; 3xx except to a login page; 400, 409, 413, 415, 422 — the request went
  past every permission check and was then judged on its (empty) body;
- denied: 401, 403, 404 (what you may not see does not exist), 405; a redirect to the
  login page or the admin's login page (except from a logout URL: that is where a
  logout sends you when it worked); in the admin, a redirect to the admin index without
  a success message (where django-guardian sends those who may not manage an object's
  permissions); a bulk action Django did not offer ("No action selected.");
  a websocket closed before it is accepted, or a push that never arrives;
- error: any 5xx, or a status that is neither (e.g. 429): always a failure.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import resolve, reverse
from django.utils.translation import gettext
from rest_framework.parsers import MultiPartParser

from .policy import Row
from .routes import Route, build_url, model_admin_of
from .world import ENTITY_HOST, ENTITY_IP, ENTITY_USER, RULE, World

if TYPE_CHECKING:  # what Django's test client answers: a response with the request
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

ALLOWED_CODES = {400, 409, 413, 415, 422}
DENIED_CODES = {401, 403, 404, 405}
REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class Outcome:
    verdict: str  # "allowed", "denied" or "error"
    got: str  # what a reader needs to see: "302 -> /accounts/login/", "404", "closed 4403"


def judge(response: TestResponse, path: str, method: str = "GET") -> Outcome:
    code = response.status_code
    if method.startswith("POST:"):
        # Django answers an action it does not offer this user like one that ran (a
        # redirect back to the list, only its message tells them apart) or, when it
        # offers this user no action at all, with the list itself.
        if code in REDIRECTS and _no_such_action(response):
            return Outcome("denied", f"{code}, 'No action selected.'")
        if code == 200 and _is_the_change_list(response):
            return Outcome("denied", "200, the list again (no action offered)")
    if code in REDIRECTS:
        target = urlsplit(response["Location"]).path
        got = f"{code} -> {target}"
        login_pages = {reverse("login"), reverse("admin:login")}
        logouts = {reverse("logout"), reverse("admin:logout")}
        admin_index = reverse("admin:index")
        if target in login_pages:
            return Outcome("allowed" if path in logouts else "denied", got)
        if target == admin_index and path.startswith(admin_index) and path not in login_pages:
            # The admin's index is where it sends you both when it refuses (guardian's
            # object-permission pages, a missing object) and after a deletion from a
            # model you may not change (API tokens): only the latter says "success".
            done = any(m.level == messages.SUCCESS for m in get_messages(response.wsgi_request))
            return Outcome("allowed" if done else "denied", got)
        return Outcome("allowed", got)
    if code in DENIED_CODES:
        return Outcome("denied", str(code))
    if 200 <= code < 300 or code in ALLOWED_CODES:
        return Outcome("allowed", str(code))
    failure = getattr(response, "exc_info", None)
    if failure:  # say what broke: the table is all a reviewer sees
        return Outcome("error", f"{code} {failure[0].__name__}: {str(failure[1])[:200]}")
    return Outcome("error", str(code))


def _is_the_change_list(response: TestResponse) -> bool:
    return any(t.name == "admin/change_list.html" for t in response.templates)


def _no_such_action(response: TestResponse) -> bool:
    refusal = gettext("No action selected.")
    return any(m.message == refusal for m in get_messages(response.wsgi_request))


# ---- URL parameters ---------------------------------------------------------------------

# The object a route's ``pk`` (or ``object_id``) names, where the view does not say it:
# pages (DRF viewsets and admin pages name their model themselves).
PAGE_OBJECTS = {
    "admin:view_on_site": "incidents.incident",
    "alerts:detail": "incidents.alert",
    "assets:detail": "assets.asset",
    "assets:edit": "assets.asset",
    "intel:ioc": "intel.ioc",
    "intel:feed": "intel.threatintel",
    "intel:feed_edit": "intel.threatintel",
    "intel:feed_fetch": "intel.threatintel",
    "alerts:preview": "incidents.alert",
    "alerts:triage": "incidents.alert",
    "alerts:delete_view": "socapp.savedview",
    "alerts:lift_mute": "incidents.alertmute",
    "incidents:evidence": "incidents.evidence",
    "rules:detail": "correlation.correlationrule",
    "rules:edit": "correlation.correlationrule",
    "rules:toggle": "correlation.correlationrule",
    "rules:backtest": "correlation.correlationrule",
}


class UnfillableParameter(LookupError):
    pass


def _model_label(model: Any) -> str:
    return model._meta.label_lower


def _view_model(route: Route) -> str | None:
    """The model behind a DRF viewset or an admin page, if the route has one."""
    viewset = getattr(route.callback, "cls", None)
    queryset = getattr(viewset, "queryset", None)
    if queryset is not None:
        return _model_label(queryset.model)
    model_admin = model_admin_of(route.callback)
    return _model_label(model_admin.model) if model_admin is not None else None


def url_values(route: Route, variant: dict[str, str], world: World) -> dict[str, Any]:
    """A value for each URL parameter, by its name, from team A's objects."""
    o, users = world.objects, world.users
    incident = o["incidents.incident"]
    by_name: dict[str, Any] = {
        "format": "json",
        "number": incident.number,
        "evidence_id": o["incidents.evidence"].pk,
        "event_id": o["events.event"].event_id,
        "object_pk": incident.pk,  # django-guardian's object-permission pages
        "user_id": users["analyst_b"].pk,
        "group_id": o["socapp.role"].pk,
        "id": users["analyst_a"].pk,  # the admin's password form for a user
        "app_label": "incidents",
        "url": "no-such-page/",
        "content_type_id": o["contenttypes.incident"].pk,
        "value": {"entities:ip": ENTITY_IP, "entities:user": ENTITY_USER}.get(
            route.name, ENTITY_HOST
        ),
    }
    values = {}
    for param in route.params:
        if param in variant:
            values[param] = variant[param]
        elif param in ("pk", "object_id"):
            label = PAGE_OBJECTS.get(route.name) or _view_model(route)
            if label is None or label not in o:
                raise UnfillableParameter(
                    f"{route.label}: which object is its {param!r}? Add the route to "
                    "PAGE_OBJECTS in tests/authz/matrix.py or the object to world.py."
                )
            values[param] = o[label].pk
        elif param in by_name:
            values[param] = by_name[param]
        else:
            raise UnfillableParameter(
                f"{route.label}: no value for {param!r}; list its values in the policy "
                f"as '{route.name}[{param}=<value>]' keys."
            )
    return values


def url_for(row: Row, world: World) -> str:
    route = row.route
    if route.kind == "probe":
        return route.path
    url = build_url(route, url_values(route, dict(row.variant), world))
    match = resolve(urlsplit(url).path)
    captured = match.captured_kwargs  # type: ignore[attr-defined]  # not in the stubs
    if match.func is not route.callback or set(captured) != set(route.params):
        raise AssertionError(f"{url} reaches {match.route!r}, not {route.path}: shadowed route")
    return url


# ---- requests ----------------------------------------------------------------------------

# Where an empty body stops before the check that matters, a minimal body that reaches it
# (by policy key and method). Everything else is sent empty.
BODIES: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    # Deciding a held response action is for incident managers: the service refuses
    # others only once the form names an action.
    ("incidents:change[action=action-decide]", "POST"): lambda w: {
        "action": w.obj("incidents.responseaction").pk,
        "decision": "reject",
    },
    # Settling an action left running, likewise: the service refuses non-managers.
    ("incidents:change[action=action-settle]", "POST"): lambda w: {
        "action": w.obj("incidents.responseaction").pk,
        "outcome": "failed",
        "note": "checked the firewall",
    },
    # The editor is open to every rule reader (to test a rule on an event); saving is for
    # those who may add or change rules, and is refused only for a valid definition.
    ("rules:new", "POST"): lambda w: {"definition": RULE.replace("4c1b2f0e", "5d2c3a1f")},
    ("rules:edit", "POST"): lambda w: {"definition": RULE, "is_active": "on"},
    # The admin's delete page asks for confirmation first; "post" is the confirmation,
    # so the row says who may actually delete (Django also refuses when the deletion
    # would take rows the user may not delete, such as an incident's timeline).
    ("admin:*_delete", "POST"): lambda w: {"post": "yes"},
}


def body_for(row: Row, world: World) -> dict[str, Any]:
    for (key, method), make in BODIES.items():
        names = (row.key, row.route.name)  # the policy key (with its variant) or URL name
        if method == row.method and any(n == key or fnmatch.fnmatchcase(n, key) for n in names):
            return make(world)
    return {}


def _is_api(path: str) -> bool:
    return path.startswith(("/api/", "/services/"))


def _multipart_only(route: Route) -> bool:
    parsers = (getattr(route.callback, "initkwargs", None) or {}).get("parser_classes") or []
    return bool(parsers) and all(issubclass(p, MultiPartParser) for p in parsers)


def send(row: Row, persona: Any, url: str, world: World) -> TestResponse:
    """One request, its effects rolled back whatever they were."""
    client = persona.client()
    headers = persona.headers()
    method = row.method.lower()
    body = body_for(row, world)
    if method.startswith("post:"):  # a change list's bulk action on team A's object
        label = _view_model(row.route)
        assert label is not None, row.route  # bulk actions are an admin change list's
        body = {"action": row.method[5:], "_selected_action": [world.obj(label).pk], "post": "yes"}
        method = "post"
    with transaction.atomic():
        if method == "get":
            response = client.get(url, headers=headers)
        elif _multipart_only(row.route) or not _is_api(url):
            # A form post (pages, and the API's file uploads).
            if method == "post":
                response = client.post(url, body, headers=headers)
            else:
                response = getattr(client, method)(
                    url, "", content_type="application/x-www-form-urlencoded", headers=headers
                )
        else:
            response = getattr(client, method)(
                url, "", content_type="application/json", headers=headers
            )
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)  # finish reading files before rollback
        transaction.set_rollback(True)
    return response
