"""The pages that keep saved views, as their apps register them (a hook registry: the
floor imports no app). Each page says who may open it, and so see and keep its views,
and how it reads a query string: a view is stored only if its page would accept it.

Apps call ``register_saved_view_page`` from ``AppConfig.ready``; the services and
selectors of socapp read the table, so the pages and /api/v1/saved-views/ keep one set
of rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import SuspiciousOperation
from django.http import QueryDict

# A page's problems with a query (the messages its form would show), none if it reads it.
QueryCheck = Callable[[QueryDict], list[str]]

# Bounds on what a user stores: a page's query string (the event search's query alone may
# be 2,000 characters, percent-encoded up to three times that) and a view's name.
QUERY_MAX_CHARS = 8000
NAME_MAX_CHARS = 100


@dataclass(frozen=True)
class SavedViewPage:
    permission: str  # who may open the page: its saved views are theirs to see and keep
    check: QueryCheck


_pages: dict[str, SavedViewPage] = {}


def register_saved_view_page(page: str, *, permission: str, check: QueryCheck) -> None:
    _pages[page] = SavedViewPage(permission=permission, check=check)


def saved_view_pages() -> dict[str, SavedViewPage]:
    return dict(_pages)


def page_not_kept(page: str) -> str:
    return f"Views of {page!r} are not kept; saved views are kept for: {', '.join(sorted(_pages))}."


def query_problems(page: str, query: str) -> list[str]:
    """Why ``page`` would not read ``query`` (a query string without its "?"), or []."""
    if "\x00" in query:
        return ["A query cannot contain NUL characters."]
    if len(query) > QUERY_MAX_CHARS:
        return [f"A query is at most {QUERY_MAX_CHARS} characters."]
    spec = _pages.get(page)
    if spec is None:
        return [page_not_kept(page)]
    try:
        params = QueryDict(query)
    except SuspiciousOperation as exc:  # more parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS
        return [str(exc) or "The query has too many parameters."]
    return spec.check(params)
