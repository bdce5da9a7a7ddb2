"""One time range for the console's pages: the alert queue, the event search and the
dashboard read the same parameters through the same parser (docs/CONSOLE.md, "Time").

A range is relative — the last N minutes, hours, days or weeks up to now, ``range=24h``
(Kibana's ``range=now-24h`` is read too) — or absolute, ``since=…&until=…``: moments in
ISO 8601, a moment without an offset being read in the user's time zone. ``range=custom``
(the picker's "From … to …", the search's old spelling) says "the since/until given";
``last=6h`` is the picker's free field, which wins over the others when filled in;
``range=any`` is "any time", on a page that has no default range (the queue).

Every range is bounded: it starts before it ends and spans at most TIME_RANGE_MAX_DAYS,
so no page is asked to read more than that. A bad value is a ``TimeRangeError`` naming
the parameter, which the pages show as a form error with a 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .timefmt import when_text, zone_label

PRESETS = ("15m", "1h", "4h", "24h", "7d", "30d")
CUSTOM = "custom"
ANY = "any"  # no range at all: "any time" (the queue's default)
PARAMS = ("range", "last", "since", "until")
UNITS = {"m": ("minute", 60), "h": ("hour", 3600), "d": ("day", 86400), "w": ("week", 604800)}
# At most six digits: "now-999999m" is still a number Python and the bound check handle
# cheaply; longer input is refused before any arithmetic.
_RELATIVE = re.compile(r"(?:now-)?([1-9][0-9]{0,5})([mhdw])")
MOMENT_MAX_CHARS = 40
SESSION_KEY = "socapp_time_range"


class TimeRangeError(ValueError):
    """A range that cannot be used; ``field`` is the parameter to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def max_span() -> timedelta:
    return timedelta(days=settings.TIME_RANGE_MAX_DAYS)


@dataclass(frozen=True)
class TimeRange:
    since: datetime
    until: datetime
    last: str = ""  # the canonical relative text ("6h"); empty for an absolute range

    @property
    def relative(self) -> bool:
        return bool(self.last)

    @property
    def span(self) -> timedelta:
        return self.until - self.since

    def query(self) -> dict[str, str]:
        """The URL parameters that give this range again: a relative range keeps
        sliding; an absolute one carries its offset, so any reader gets the same moments."""
        if self.last:
            return {"range": self.last}
        return {"since": _iso(self.since), "until": _iso(self.until)}

    def words(self) -> str:
        """ "Last 6 hours", or the two moments in the user's zone."""
        if self.last:
            return "Last " + relative_words(self.last)
        return f"{when_text(self.since)} to {when_text(self.until)}"


def _iso(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def relative_words(text: str) -> str:
    """'6h' -> '6 hours', '1h' -> 'hour'... with the number: '1 hour'."""
    number, unit = int(text[:-1]), UNITS[text[-1]][0]
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def parse_relative(text: str, field: str = "range") -> tuple[str, timedelta]:
    """``15m``, ``6h``, ``now-6h``, ``2d``, ``1w`` -> (canonical text, length)."""
    match = _RELATIVE.fullmatch(text.strip().lower())
    if not match:
        raise TimeRangeError(
            field,
            "A relative range is a number and a unit: 15m, 6h, 2d or 1w (now-6h works too).",
        )
    number, unit = int(match.group(1)), match.group(2)
    length = timedelta(seconds=number * UNITS[unit][1])
    if length > max_span():
        raise TimeRangeError(field, _too_long())
    return f"{number}{unit}", length


def parse_moment(text: str, field: str, zone: tzinfo | None = None) -> datetime:
    """An ISO 8601 moment; without an offset it is read in ``zone`` (the user's). A local
    time the zone skips (clocks going forward) or has twice (going back) is refused
    rather than guessed: the message asks for an offset."""
    text = text.strip()
    if len(text) > MOMENT_MAX_CHARS:
        raise TimeRangeError(field, "That is not a date and time.")
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise TimeRangeError(field, "Give a date and time such as 2026-12-07 14:03.")
    if timezone.is_naive(parsed):
        zone = zone or timezone.get_current_timezone()
        parsed = _in_zone(parsed, zone, field)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise TimeRangeError(field, "This moment is out of range.") from None


def _in_zone(naive: datetime, zone: tzinfo, field: str) -> datetime:
    early, late = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        # Two different offsets: the time either happens twice or not at all; a time
        # that round-trips through UTC exists (twice), one that does not is skipped.
        exists = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
        what = "happens twice" if exists else "does not exist"
        raise TimeRangeError(
            field,
            f"{naive:%Y-%m-%d %H:%M} {what} in {zone} (a clock change); "
            "give it with an offset, such as +01:00.",
        )
    return early


def _too_long() -> str:
    return f"A range is at most {settings.TIME_RANGE_MAX_DAYS} days."


def check_bounds(since: datetime, until: datetime, field: str = "since") -> None:
    if since >= until:
        raise TimeRangeError(field, "The range must start before it ends.")
    if until - since > max_span():
        raise TimeRangeError(field, _too_long())


def given(params: Mapping[str, Any]) -> bool:
    """Whether the request names a range at all (an empty ``range`` is "any time")."""
    return any(name in params for name in PARAMS)


def time_range_from(
    params: Mapping[str, Any],
    *,
    default: str | None = "24h",
    zone: tzinfo | None = None,
    now: datetime | None = None,
) -> TimeRange | None:
    """The range the parameters name, or the ``default``; None is "any time", which only
    a page without a default (``default=None``) accepts."""
    now = now or timezone.now()
    last = _text(params, "last")
    chosen = _text(params, "range")
    if last:
        return _relative(last, "last", now)
    if chosen == ANY:
        if default is None:
            return None
        raise TimeRangeError("range", "Choose a time range: this page reads one range at a time.")
    if chosen and chosen != CUSTOM:
        return _relative(chosen, "range", now)
    since_text, until_text = _text(params, "since"), _text(params, "until")
    if chosen == CUSTOM or since_text or until_text:
        until = parse_moment(until_text, "until", zone) if until_text else now
        if since_text:
            since = parse_moment(since_text, "since", zone)
        else:
            since = until - parse_relative(default or "24h")[1]
        check_bounds(since, until)
        return TimeRange(since=since, until=until)
    return _relative(default, "range", now) if default else None


def _text(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    return value.strip() if isinstance(value, str) else ""


def _relative(text: str, field: str, now: datetime) -> TimeRange:
    canonical, length = parse_relative(text, field)
    return TimeRange(since=now - length, until=now, last=canonical)


# ---- the picker (templates/socapp/partials/time_range.html) ----------------------------


@dataclass(frozen=True)
class Picker:
    """What the picker include shows: the chosen range (None: any time), its quick links
    (the page's own parameters with only the range changed) and the form's values."""

    chosen: TimeRange | None
    quick: list[dict[str, Any]]
    options: list[tuple[str, str]]
    selected: str
    since_local: str
    until_local: str
    words: str
    zone: str
    error: str
    field: str


def picker(
    params: Any,
    chosen: TimeRange | None,
    *,
    allow_any: bool = False,
    error: TimeRangeError | None = None,
) -> Picker:
    kept = params.copy()
    for name in (*PARAMS, "cursor", "before", "hours"):
        kept.pop(name, None)
    values = list(PRESETS) + ([ANY] if allow_any else [])
    selected = (chosen.last if chosen.relative else CUSTOM) if chosen else ANY
    quick = []
    for value in values:
        link = kept.copy()
        link["range"] = value
        quick.append(
            {
                "value": value,
                "words": "Any time" if value == ANY else "Last " + relative_words(value),
                "href": "?" + link.urlencode(),
                "current": value == selected and error is None,
            }
        )
    options = [(q["value"], q["words"]) for q in quick]
    if chosen is not None and chosen.relative and selected not in values:
        options.insert(len(PRESETS), (selected, "Last " + relative_words(selected)))
    options.append((CUSTOM, "From … to …"))
    return Picker(
        chosen=chosen,
        quick=quick,
        options=options,
        selected=selected,
        since_local=typed_input(chosen.since) if chosen else "",
        until_local=typed_input(chosen.until) if chosen else "",
        words=chosen.words() if chosen else ("" if error else "Any time"),
        zone=zone_label(timezone.localtime()),
        error=error.message if error else "",
        field=error.field if error else "",
    )


def local_input(moment: datetime) -> str:
    """As a datetime-local input shows it (the form reads it back in the same zone)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")


def typed_input(moment: datetime) -> str:
    """As the picker's From/To fields show it: the console's own 24-hour format in the
    user's zone (a datetime-local input would follow the browser's locale, AM/PM in
    some), which is also what an analyst pastes from a log."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def page_range(
    request: Any, *, default: str | None, allow_any: bool = False, params: Any = None
) -> tuple[TimeRange | None, Picker, TimeRangeError | None]:
    """A page's range from its query string (or ``params``), the picker showing it, and
    the error if they name no usable range. A range the request names is remembered."""
    params = request.GET if params is None else params
    error = None
    try:
        chosen = time_range_from(params, default=default)
    except TimeRangeError as exc:
        chosen, error = None, exc
    if error is None and given(params):
        remember(request, chosen)
    return chosen, picker(params, chosen, allow_any=allow_any, error=error), error


# ---- carrying the range between pages ---------------------------------------------------


def remember(request: Any, chosen: TimeRange | None) -> None:
    """Keep the range a page was asked for in the session, so the navigation's links to
    the queue, the search and the dashboard carry it (socapp.context.nav_time_range)."""
    if chosen is None:
        request.session.pop(SESSION_KEY, None)
    else:
        request.session[SESSION_KEY] = chosen.query()


def remembered(request: Any) -> dict[str, str]:
    session = getattr(request, "session", None)
    found = session.get(SESSION_KEY) if session is not None else None
    return found if isinstance(found, dict) else {}
