"""Every endpoint socapp answers, read from the running configuration (never a list kept
by hand): the URL resolver (pages, admin, API, the router's ``@action`` routes and their
format-suffix twins), the probes answered by middleware before URL resolution, and the
Channels websocket routes of the ASGI application.

Each endpoint comes with the HTTP methods it serves, found the way Django and DRF find
them: a viewset's method -> action map, a class view's handlers, a function view's
``require_http_methods`` list (GET and POST when it has none). HEAD and OPTIONS are left
out: Django answers HEAD with the GET handler and OPTIONS runs the same permission checks.
An admin change list also gets one ``POST:<action>`` per bulk action it offers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize

IGNORED_METHODS = {"head", "options", "trace"}
DEFAULT_FUNCTION_METHODS = ("GET", "POST")
WEBSOCKET_METHODS = ("CONNECT", "PUSH")
PROBE_METHODS = ("GET",)


@dataclass(frozen=True)
class Route:
    """One URL pattern (or probe, or websocket route) and the methods it serves."""

    kind: str  # "http", "probe" or "websocket"
    name: str  # namespaced URL name ("api:alert-detail"), "" when unnamed
    path: str  # how people read it: /api/v1/alerts/{pk}.{format}
    regex: str  # the whole pattern, for building a URL (http only)
    params: tuple[str, ...]
    methods: tuple[str, ...]
    callback: Any = field(compare=False, repr=False)
    converters: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.path} ({self.name})" if self.name else self.path


# ---- methods ---------------------------------------------------------------------------


def _unwrapped(callback: Callable) -> Iterator[Any]:
    """The callback and every function it wraps (decorators set ``__wrapped__``)."""
    seen = set()
    current: Any = callback
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "__wrapped__", None)


def _required_methods(function: Any) -> list[str] | None:
    """The method list of a ``require_http_methods`` (``require_POST``, ...) layer."""
    code = getattr(function, "__code__", None)
    if code is None or "request_method_list" not in code.co_freevars:
        return None
    cell = function.__closure__[code.co_freevars.index("request_method_list")]
    return [m.upper() for m in cell.cell_contents]


def _class_methods(view_class: Any) -> list[str]:
    return [
        m.upper()
        for m in view_class.http_method_names
        if m not in IGNORED_METHODS and hasattr(view_class, m)
    ]


def methods_of(callback: Any) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset: the router's method -> action map, less what it refuses
        served = callback.cls.http_method_names
        return tuple(m.upper() for m in actions if m not in IGNORED_METHODS and m in served)
    allowed: list[str] | None = None
    for layer in _unwrapped(callback):
        required = _required_methods(layer)
        if required is not None:
            allowed = required if allowed is None else [m for m in allowed if m in required]
        view_class = getattr(layer, "view_class", None)
        if view_class is not None:
            served = _class_methods(view_class)
            return tuple(m for m in served if allowed is None or m in allowed)
    chosen = allowed if allowed is not None else DEFAULT_FUNCTION_METHODS
    return tuple(m for m in chosen if m.lower() not in IGNORED_METHODS)


# ---- the URL resolver ------------------------------------------------------------------

_GROUP = re.compile(r"\(\?P<(\w+)>")


def _display(regex: str) -> str:
    """``^api/v1/^alerts/(?P<pk>[^/.]+)\\.(?P<format>[a-z0-9]+)/?$`` -> readable path."""
    formats = normalize(regex)
    text, params = max(formats, key=lambda f: len(f[1]))
    return "/" + text % {p: "{" + p + "}" for p in params}


def _walk(
    patterns: list, prefix: str = "", namespace: str = "", converters: dict | None = None
) -> Iterator[tuple]:
    for entry in patterns:
        regex = prefix + entry.pattern.regex.pattern.lstrip("^")
        found = {**(converters or {}), **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, regex, inner, found)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            yield regex, name, entry.callback, found


def model_admin_of(callback: Callable) -> Any:
    """The ModelAdmin behind an admin page, if it is one."""
    for layer in _unwrapped(callback):
        # ModelAdmin.get_urls marks its wrappers; bound methods know their admin too.
        owner = getattr(layer, "model_admin", None) or getattr(layer, "__self__", None)
        if owner is not None and hasattr(owner, "opts") and hasattr(owner, "model"):
            return owner
    return None


def admin_actions(callback: Callable) -> tuple[str, ...]:
    """A change list's bulk actions (its own and the site's, such as delete_selected),
    each a row of its own: Django offers an action to everyone who may see the list
    unless the action names the permissions it needs."""
    model_admin = model_admin_of(callback)
    if model_admin is None:
        return ()
    return tuple(f"POST:{name}" for _, name, _ in model_admin._get_base_actions())


def http_routes(urlconf: str | None = None) -> list[Route]:
    """Every reachable URL pattern. A pattern an earlier one matches word for word is
    never reached (the resolver stops at the first), so it is no endpoint: socapp's
    two-step admin login stands before the admin site's own, for one."""
    routes = []
    seen: set[str] = set()
    for regex, name, callback, converters in _walk(get_resolver(urlconf).url_patterns):
        if regex in seen:
            continue
        seen.add(regex)
        params = tuple(_GROUP.findall(regex))
        methods = methods_of(callback)
        if name.startswith("admin:") and name.endswith("_changelist"):
            methods += admin_actions(callback)
        routes.append(
            Route(
                kind="http",
                name=name,
                path=_display(regex),
                regex=regex,
                params=params,
                methods=methods,
                callback=callback,
                converters=converters,
            )
        )
    return routes


def build_url(route: Route, values: dict[str, Any]) -> str:
    """The URL of ``route`` with ``values`` for its parameters (as ``reverse`` builds one)."""
    for text, params in normalize(route.regex):
        if set(params) == set(route.params):
            return "/" + text % {p: _to_url(route, p, values[p]) for p in params}
    raise ValueError(f"cannot build a URL for {route.label}")


def _to_url(route: Route, param: str, value: Any) -> str:
    converter = route.converters.get(param)
    return converter.to_url(value) if converter is not None else str(value)


# ---- probes and websockets -------------------------------------------------------------


def probe_routes() -> list[Route]:
    """/health, /ready, /metrics: answered by ProbeMiddleware before URL resolution."""
    from socapp.middleware import PROBES

    return [
        Route("probe", "", path, "", (), PROBE_METHODS, callback)
        for path, callback in sorted(PROBES.items())
    ]


def _url_router(application: Any) -> Any:
    """The URLRouter inside the websocket stack (origin validator, auth middleware...)."""
    current = application
    for _ in range(10):
        if hasattr(current, "routes"):
            return current
        current = getattr(current, "inner", None) or getattr(current, "application", None)
    raise LookupError("no URLRouter in the websocket application")


def websocket_routes() -> list[Route]:
    from socapp.roof.asgi import application

    router = _url_router(application.application_mapping["websocket"])
    routes = []
    for entry in router.routes:
        path = "/" + str(entry.pattern)
        routes.append(Route("websocket", "", path, "", (), WEBSOCKET_METHODS, entry.callback))
    return routes


def all_routes() -> list[Route]:
    return [*http_routes(), *probe_routes(), *websocket_routes()]
