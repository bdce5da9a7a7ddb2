"""The search page's per-event field tables, written as HTML here rather than by the
template engine.

A page holds 50 events of ~30 fields, each with filter-for, filter-out and add-column
links: ~1,500 table rows. Django's template engine spent about as long on them as the
whole rest of the request (docs/PERFORMANCE.md, issue 14), so they are joined from
escaped strings instead; the markup is the one the template had (templates/events/
search.html renders the result inside its table body). Every value is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import quote_plus

from django.http import QueryDict
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .search.facets import EventField

MINUS = "\u2212"  # the sign the page's other filter-out links show


def searching(params: QueryDict) -> Callable[[str], str]:
    """The link searching another query over the same range (from the first page)."""
    kept = params.copy()
    for name in ("q", "cursor"):
        kept.pop(name, None)
    base = "?" + kept.urlencode() + ("&" if kept else "") + "q="
    return lambda query: base + quote_plus(query)


def adding_column(names: list[str], params: QueryDict, room: int) -> Callable[[str], str]:
    """The link that shows one more column ("" when it is shown or there is no room)."""
    kept = params.copy()
    kept.pop("cursor", None)
    kept.setlist("col", names)
    base = "?" + kept.urlencode() + "&col="
    full = len(names) >= room

    def adding(name: str) -> str:
        return "" if full or name in names else base + quote_plus(name)

    return adding


def field_rows(
    fields: Iterable[EventField], searching: Callable[[str], str], adding: Callable[[str], str]
) -> SafeString:
    """The rows of one event's field table: name (and the column behind it), value, and
    the links filtering for or out the value and showing the field as a column."""
    return mark_safe("".join(_row(f, searching, adding) for f in fields))  # noqa: S308 - escaped below


def _row(f: EventField, searching: Callable[[str], str], adding: Callable[[str], str]) -> str:
    field, value = escape(f.field), escape(f.value)
    shows_column = f.column and f.column != f.field
    column = f' <span class="muted">({escape(f.column)})</span>' if shows_column else ""
    links = ""
    if f.filter_for:
        found = escape(searching(f.filter_for))
        out = escape(searching(f.filter_out)) if f.filter_out else ""
        links = (
            f'<a class="filter-for" href="{found}" title="Filter for this value"'
            f' aria-label="Filter for {field} {value}">+</a> '
            f'<a class="filter-out" href="{out}" title="Filter out this value"'
            f' aria-label="Filter out {field} {value}">{MINUS}</a>'
        )
    add = adding(f.field)
    if add:
        links += (
            f' <a class="add-column" href="{escape(add)}" title="Show as a column"'
            f' aria-label="Show {field} as a column">▦</a>'
        )
    return (
        f'<tr><td><code>{field}</code>{column}</td><td class="field-value">{value}</td>'
        f'<td class="nowrap">{links}</td></tr>'
    )
