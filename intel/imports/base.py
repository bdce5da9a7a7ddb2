"""What every importer shares: limits, refusals, bounded JSON, and the collector that
turns a feed's raw values into normalized candidates (or skips, with reasons).

An importer reads its format into a ``Collector``; ``intel.imports.store`` writes what
was collected in one transaction. Work and memory are bounded at every step:

- the input is at most ``INTEL_IMPORT_MAX_BYTES`` (checked before it is read whole);
- JSON is decoded with a hook that counts objects as the decoder makes them, so a
  document of a million tiny objects is refused after ``INTEL_IMPORT_MAX_OBJECTS`` of
  them, not after all are built (``DECODED`` counts them, for tests);
- at most ``INTEL_IMPORT_MAX_INDICATORS`` distinct indicators are collected;
- skip reasons are counted, but only the first ``SKIPS_KEPT`` are kept with details.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from ..choices import IocStatus
from ..normalize import Indicator, guess, refusal_text, typed
from ..warninglists import hit as warninglist_hit

SKIPS_KEPT = 100
MAX_TAGS = 50
MAX_CONTEXT_NAMES = 50
MAX_TEXT = 2000


class ImportRefused(Exception):
    """The whole input is refused; the message names the object or line at fault."""

    status = 400


class ImportTooLarge(ImportRefused):
    """Over a limit (bytes, objects, indicators, archive size)."""

    status = 413


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_objects: int
    max_indicators: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_bytes=settings.INTEL_IMPORT_MAX_BYTES,
            max_objects=settings.INTEL_IMPORT_MAX_OBJECTS,
            max_indicators=settings.INTEL_IMPORT_MAX_INDICATORS,
        )

    def check_bytes(self, size: int, name: str) -> None:
        if size > self.max_bytes:
            raise ImportTooLarge(
                f"{name} is {size:,} bytes; at most {self.max_bytes:,} are imported "
                "(INTEL_IMPORT_MAX_BYTES)."
            )


class DecodedCounter:
    """JSON objects this process has decoded for imports: what tests read to show that
    an oversized document was refused early, not after it was built."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.objects = 0

    def add(self) -> None:
        with self._lock:
            self.objects += 1


DECODED = DecodedCounter()


def load_json(data: bytes, limits: Limits, name: str) -> Any:
    """``data`` decoded, or ``ImportRefused`` saying why not. Objects are counted as the
    decoder makes them and decoding stops past ``max_objects``."""
    limits.check_bytes(len(data), name)
    made = 0

    def count(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal made
        made += 1
        DECODED.add()
        if made > limits.max_objects:
            raise ImportTooLarge(
                f"{name} holds more than {limits.max_objects:,} JSON objects "
                "(INTEL_IMPORT_MAX_OBJECTS)."
            )
        return dict(pairs)

    try:
        text = data.decode("utf-8-sig")
        return json.loads(text, object_pairs_hook=count)
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"{name} is not UTF-8 text (byte {exc.start}).") from None
    except json.JSONDecodeError as exc:
        raise ImportRefused(
            f"{name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    except RecursionError:
        raise ImportRefused(f"{name} nests JSON too deeply to be a feed.") from None


def as_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ImportRefused(f"{what} is not a JSON object.")
    return value


def as_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ImportRefused(f"{what} is not a JSON list.")
    return value


def text_of(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def timestamp(value: Any, what: str) -> datetime | None:
    """A STIX/MISP timestamp (ISO 8601, or seconds since the epoch as MISP writes them)."""
    if value in (None, ""):
        return None
    from datetime import UTC

    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        try:
            return datetime.fromtimestamp(int(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ImportRefused(f"{what}: {value!r} is not a time.") from None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ImportRefused(f"{what}: {str(value)[:80]!r} is not a time.")


@dataclass
class Candidate:
    """One indicator read from a feed, normalized, with what the feed says about it."""

    ioc_type: str
    value: str
    where: str
    external_id: str = ""
    confidence: float | None = None
    tlp: str = ""
    status: str = IocStatus.ACTIVE
    expires_at: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    description: str = ""
    tags: list[str] = field(default_factory=list)
    attack_techniques: list[str] = field(default_factory=list)
    context: dict[str, list[str]] = field(default_factory=dict)

    def merge(self, other: Candidate) -> None:
        """The same indicator seen again in one input: keep what both say."""
        self.tags = _union(self.tags, other.tags, MAX_TAGS)
        self.attack_techniques = _union(self.attack_techniques, other.attack_techniques, 100)
        for kind, names in other.context.items():
            self.context[kind] = _union(self.context.get(kind, []), names, MAX_CONTEXT_NAMES)
        if other.confidence is not None:
            self.confidence = max(self.confidence or 0.0, other.confidence)


def _union(first: list[str], second: list[str], limit: int) -> list[str]:
    return list(dict.fromkeys([*first, *second]))[:limit]


@dataclass
class Skip:
    where: str
    reason: str
    value: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "value": self.value, "reason": self.reason}


class Collector:
    """Where an importer puts what it read: normalized candidates, deduplicated, within
    the indicator limit; and what it skipped, counted, the first ``SKIPS_KEPT`` kept."""

    def __init__(
        self,
        limits: Limits,
        *,
        warning: Callable[[str, str], str | None] = warninglist_hit,
    ) -> None:
        self.limits = limits
        self.candidates: dict[tuple[str, str], Candidate] = {}
        self.skips: list[Skip] = []
        self.skipped = 0
        self.objects = 0  # objects, rows or lines read: bounded by max_objects
        self._warning = warning

    def count_object(self, where: str) -> None:
        self.objects += 1
        if self.objects > self.limits.max_objects:
            raise ImportTooLarge(
                f"{where}: more than {self.limits.max_objects:,} objects, rows or lines "
                "(INTEL_IMPORT_MAX_OBJECTS)."
            )

    def skip(self, where: str, reason: str, value: str = "") -> None:
        self.skipped += 1
        if len(self.skips) < SKIPS_KEPT:
            self.skips.append(Skip(where, reason, value[:200]))

    def add(self, ioc_type: str | None, raw: str, where: str, **about: Any) -> Candidate | None:
        """Normalize ``raw`` (of ``ioc_type``, or guessed when None) and keep it, unless
        it is not a valid indicator or is on a warning list (both skipped, with why)."""
        try:
            found: Indicator = guess(raw) if ioc_type is None else typed(ioc_type, raw)
        except ValidationError as exc:
            self.skip(where, refusal_text(exc), raw)
            return None
        listed = self._warning(found.ioc_type, found.value)
        if listed:
            self.skip(where, f"on the warning list {listed!r}", found.value)
            return None
        key = (found.ioc_type, found.value)
        candidate = Candidate(found.ioc_type, found.value, where, **about)
        existing = self.candidates.get(key)
        if existing is not None:
            existing.merge(candidate)
            return existing
        if len(self.candidates) >= self.limits.max_indicators:
            raise ImportTooLarge(
                f"{where}: more than {self.limits.max_indicators:,} indicators "
                "(INTEL_IMPORT_MAX_INDICATORS)."
            )
        self.candidates[key] = candidate
        return candidate


def refuse_cycles(graph: dict[str, list[str]], what: str = "cyclic references") -> None:
    """Refuse references that loop, naming the objects on the loop. Iterative depth-first
    search (no recursion limit to hit), each node and edge visited once."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in list(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(graph.get(start, ()))]
        state[start] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                loop = [*path[path.index(following) :], following]
                raise ImportRefused(f"{what}: " + " -> ".join(loop[:10]))
            elif not state.get(following):
                state[following] = 1
                path.append(following)
                stack.append(iter(graph.get(following, ())))
