"""Reading tests/authz/policy.yaml: who may do what, per route and method.

A route is found by its key in ``routes:``:
1. ``name[param=value]`` — one value of a parameter the matrix cannot fill by itself
   (the ``action`` slug of the triage and incident-change pages); every such key is one
   more row of the matrix;
2. the URL name (``api:alert-detail``) or, for unnamed routes, the path as the failure
   table prints it (``/admin/incidents/alert/{object_id}/``);
3. otherwise the first key with a wildcard (``admin:*_changelist``, ``/admin/*/{object_id}/``)
   that matches the name, or the path when the key starts with ``/``, in file order.
Exact keys win over wildcards, so a special case can sit anywhere in the file.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .routes import Route
from .world import PERSONAS

POLICY_FILE = Path(__file__).with_name("policy.yaml")
VARIANT_KEY = re.compile(r"^(?P<name>[^\[]+)\[(?P<param>\w+)=(?P<value>[^\]]+)\]$")
NOBODY = "nobody_at_all"


@dataclass(frozen=True)
class Row:
    """One line of the matrix: a route (with its variant), a method, who may pass."""

    route: Route
    variant: tuple[tuple[str, str], ...]
    method: str
    key: str
    allowed: frozenset[str]

    @property
    def label(self) -> str:
        path = self.route.path
        for param, value in self.variant:
            path = path.replace("{" + param + "}", f"{{{param}={value}}}")
        return path


@dataclass(frozen=True)
class KnownGap:
    """A wrong answer the matrix has found and another change is fixing: excused until
    then, and reported as closed (remove me) once no case needs the excuse any more."""

    routes: tuple[str, ...]  # policy keys, wildcards allowed
    got: str  # the wrong verdict it excuses: allowed, denied or error
    why: str
    path: str = "*"  # the row's path as printed, wildcards allowed
    methods: tuple[str, ...] = ("*",)
    personas: tuple[str, ...] = ("*",)

    @classmethod
    def read(cls, entry: dict[str, Any]) -> KnownGap:
        def listed(value: Any) -> tuple[str, ...]:
            return tuple(value) if isinstance(value, list) else (value,)

        if entry.get("got") not in ("allowed", "denied", "error"):
            raise PolicyError(f"known gap {entry}: 'got' is allowed, denied or error")
        return cls(
            routes=listed(entry["routes"]),
            got=entry["got"],
            why=entry["why"],
            path=entry.get("path", "*"),
            methods=listed(entry.get("methods", "*")),
            personas=listed(entry.get("personas", "*")),
        )

    def applies(self, row: Row, persona: str = "*") -> bool:
        def any_of(patterns: tuple[str, ...], value: str) -> bool:
            return value == "*" or any(
                value == p or fnmatch.fnmatchcase(value, p) for p in patterns
            )

        return (
            any_of(self.routes, row.key)
            and fnmatch.fnmatchcase(row.label, self.path)
            and any_of(self.methods, row.method)
            and any_of(self.personas, persona)
        )


class PolicyError(Exception):
    pass


class Policy:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.groups: dict[str, list[str]] = document.get("groups") or {}
        self.routes: dict[str, dict[str, Any]] = document.get("routes") or {}
        self.descriptions: dict[str, str] = document.get("personas") or {}
        self.gaps = [KnownGap.read(gap) for gap in document.get("known_gaps") or []]
        self.used: set[tuple[str, str]] = set()
        self._check_names()

    @classmethod
    def load(cls, path: Path = POLICY_FILE) -> Policy:
        return cls(yaml.safe_load(path.read_text()))

    # ---- personas ----------------------------------------------------------------------

    def expand(self, value: Any, seen: tuple[str, ...] = ()) -> frozenset[str]:
        """A persona, a group name, ``nobody_at_all`` or a list of them -> personas."""
        if value is None or value == NOBODY:
            return frozenset()
        if isinstance(value, list):
            return frozenset().union(*(self.expand(v, seen) for v in value))
        if value in PERSONAS:
            return frozenset([value])
        if value in self.groups and value not in seen:
            return self.expand(self.groups[value], (*seen, value))
        raise PolicyError(f"unknown persona or group {value!r}")

    def _check_names(self) -> None:
        for key, entry in self.routes.items():
            if not isinstance(entry, dict):
                raise PolicyError(f"{key}: expected METHOD: personas, got {entry!r}")
            for method, who in entry.items():
                try:
                    self.expand(who)
                except PolicyError as exc:
                    raise PolicyError(f"{key} {method}: {exc}") from None
        for gap in self.gaps:
            for persona in gap.personas:
                if persona != "*" and persona not in PERSONAS:
                    raise PolicyError(f"known gap names an unknown persona {persona!r}")

    # ---- routes ------------------------------------------------------------------------

    def variants(self, route: Route) -> list[tuple[tuple[str, str], ...]]:
        """The rows a route makes: one per ``name[param=value]`` key, or just itself."""
        found: list[tuple[tuple[str, str], ...]] = []
        for key in self.routes:
            match = VARIANT_KEY.match(key)
            if match and route.name and match["name"] == route.name:
                found.append(((match["param"], match["value"]),))
        return found or [()]

    def key_for(self, route: Route, variant: tuple[tuple[str, str], ...]) -> str | None:
        if variant:
            (param, value), *_ = variant
            key = f"{route.name}[{param}={value}]"
            return key if key in self.routes else None
        for exact in (route.name, route.path):
            if exact and exact in self.routes:
                return exact
        for key in self.routes:
            if not any(c in key for c in "*?") or VARIANT_KEY.match(key):
                continue
            subject = route.path if key.startswith("/") else route.name
            if subject and fnmatch.fnmatchcase(subject, key):
                return key
        return None

    def rows(self, route: Route) -> tuple[list[Row], list[str]]:
        """The matrix rows of ``route``, and what the policy does not say about it."""
        rows, missing = [], []
        for variant in self.variants(route):
            key = self.key_for(route, variant) or ""
            for method in route.methods:
                entry = self.routes.get(key, {}) if key else {}
                if method in entry:
                    who = entry[method]
                elif "*" in entry:
                    who, method_key = entry["*"], "*"
                    self.used.add((key, method_key))
                else:
                    label = Row(route, variant, method, "", frozenset()).label
                    missing.append(f"{label} {method}  (name: {route.name or '-'})")
                    continue
                self.used.add((key, method))
                rows.append(Row(route, variant, method, key, self.expand(who)))
        return rows, missing

    def stale(self) -> list[str]:
        """Keys and methods that no route used (call after ``rows`` for every route)."""
        return [
            f"{key} {method}"
            for key, entry in self.routes.items()
            for method in entry
            if (key, method) not in self.used
        ]

    def gap(self, row: Row, persona: str, verdict: str) -> KnownGap | None:
        """The known gap that excuses ``verdict`` for this case, if any."""
        for gap in self.gaps:
            if gap.got == verdict and gap.applies(row, persona):
                return gap
        return None
