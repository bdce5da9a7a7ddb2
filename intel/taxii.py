"""TAXII 2.1: which collection a feed's URL means, and its objects since the last poll.

A feed's URL may be a collection's own URL (``…/collections/<id>/``), an API root
(``…/api1/``), or the server's discovery URL (``…/taxii2/``). The latter two are
resolved to a collection: discovery names the API roots (its ``default`` first, at most
``MAX_ROOTS``), each root lists its collections, and the feed's ``metadata["collection"]``
picks one by id or title; without it, a server with exactly one readable collection
needs no choosing. The resolution is kept in ``poll_state`` (with the URL and choice it
was made for), so later polls go straight to the objects. Every request is a
``fetching.fetch`` (netguard; credentials only to the feed URL's origin).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

from django.conf import settings

from .fetching import PollFailed, fetch
from .imports import Collector
from .imports.base import as_dict, as_list, load_json
from .imports.stix import read_objects
from .models import ThreatIntel

MEDIA = "application/taxii+json;version=2.1"
PAGE = 1000
MAX_ROOTS = 5
MAX_COLLECTIONS = 200  # per API root: a listing longer than this is cut, not read
NAMED = 10  # collections named in an error message
COLLECTION_PATH = re.compile(r"/collections/[^/]+/?$")


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _resource(feed: ThreatIntel, url: str, collector: Collector) -> dict[str, Any]:
    fetched = fetch(feed, url, MEDIA)
    return as_dict(load_json(fetched.body, collector.limits, url), url)


def _roots(discovery: dict[str, Any], url: str) -> list[str]:
    """The API roots a discovery resource names, its default first, as absolute URLs."""
    named = [discovery.get("default"), *as_list(discovery.get("api_roots"), f"{url}: api_roots")]
    roots: list[str] = []
    for root in named:
        if isinstance(root, str) and root:
            absolute = _slash(urljoin(url, root[:2000]))
            if absolute not in roots:
                roots.append(absolute)
    if not roots:
        raise PollFailed(f"{url}: the TAXII server names no API root.")
    return roots[:MAX_ROOTS]


def _collections(
    feed: ThreatIntel, roots: list[str], collector: Collector
) -> list[tuple[str, dict]]:
    found: list[tuple[str, dict]] = []
    for root in roots:
        listing = _resource(feed, urljoin(root, "collections/"), collector)
        entries = as_list(listing.get("collections"), f"{root}collections/: collections")
        for entry in entries[:MAX_COLLECTIONS]:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]:
                found.append((root, entry))
    return found


def _label(entry: dict[str, Any]) -> str:
    title = str(entry.get("title") or "")[:100]
    return f"{title} ({entry['id'][:100]})" if title else entry["id"][:100]


def _choose(found: list[tuple[str, dict]], wanted: str, url: str) -> tuple[str, dict]:
    readable = [(root, c) for root, c in found if c.get("can_read", True) is not False]
    if wanted:
        hits = [(r, c) for r, c in readable if c["id"] == wanted]
        hits = hits or [
            (r, c) for r, c in readable if str(c.get("title") or "").casefold() == wanted.casefold()
        ]
        if len(hits) == 1:
            return hits[0]
        why = "names no readable collection" if not hits else "matches several collections"
        raise PollFailed(f"{url}: the feed's collection {wanted[:100]!r} {why}; {_offer(readable)}")
    if len(readable) == 1:
        return readable[0]
    if not readable:
        raise PollFailed(f"{url}: the TAXII server offers no collection this feed may read.")
    raise PollFailed(
        f"{url}: {len(readable)} collections; name one (id or title) in the feed's "
        f"collection setting. {_offer(readable)}"
    )


def _offer(readable: list[tuple[str, dict]]) -> str:
    names = ", ".join(_label(c) for _, c in readable[:NAMED])
    more = f" and {len(readable) - NAMED} more" if len(readable) > NAMED else ""
    return f"Readable: {names}{more}." if names else "None is readable."


def wanted_collection(feed: ThreatIntel) -> str:
    options = feed.metadata if isinstance(feed.metadata, dict) else {}
    return str(options.get("collection") or "").strip()[:255]


def collection_url(feed: ThreatIntel, collector: Collector) -> str:
    """The URL of the collection ``feed`` polls (ending in "/"), discovered when its URL
    is a discovery URL or an API root; PollFailed when it cannot be told which."""
    url = _slash(feed.url)
    if COLLECTION_PATH.search(urlsplit(url).path):
        return url
    wanted = wanted_collection(feed)
    known = feed.poll_state.get("collection")
    if isinstance(known, dict) and (known.get("from"), known.get("wanted")) == (url, wanted):
        return str(known["url"])
    resource = _resource(feed, url, collector)
    if "api_roots" in resource or "default" in resource:
        roots = _roots(resource, url)
    elif "can_read" in resource and isinstance(resource.get("id"), str):
        return url  # a collection at a URL of its own making
    elif "versions" in resource or "max_content_length" in resource:
        roots = [url]
    else:
        raise PollFailed(f"{url}: not a TAXII 2.1 discovery URL, API root or collection.")
    root, chosen = _choose(_collections(feed, roots, collector), wanted, url)
    return urljoin(root, f"collections/{quote(chosen['id'], safe='')}/")


def poll_taxii(feed: ThreatIntel, collector: Collector) -> dict[str, Any]:
    """All pages added after the last poll; the state to keep (the new ``added_after``
    and, for a discovered collection, where it is)."""
    collection = collection_url(feed, collector)
    state: dict[str, Any] = {}
    if collection != _slash(feed.url):
        state["collection"] = {
            "from": _slash(feed.url), "wanted": wanted_collection(feed), "url": collection,
        }  # fmt: skip
    first_after = added_after = feed.poll_state.get("added_after")
    query: dict[str, str] = {"limit": str(PAGE)}
    if added_after:
        query["added_after"] = added_after
    total = 0
    for _ in range(settings.INTEL_POLL_MAX_PAGES):
        url = urljoin(collection, "objects/") + "?" + urlencode(query)
        fetched = fetch(feed, url, MEDIA)
        total += len(fetched.body)
        collector.limits.check_bytes(total, "the collection's pages")
        envelope = as_dict(load_json(fetched.body, collector.limits, url), url)
        read_objects(as_list(envelope.get("objects"), f"{url}: objects"), collector)
        added_after = fetched.headers.get("x-taxii-date-added-last") or added_after
        following = envelope.get("next")
        if not envelope.get("more") or not isinstance(following, str):
            break
        query = {"limit": str(PAGE), "next": following[:1000]}
        if first_after:
            query["added_after"] = first_after
    if added_after:
        state["added_after"] = added_after
    return state
