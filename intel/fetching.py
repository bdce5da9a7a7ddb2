"""One GET for a feed, through ``socapp.netguard``: the resolved address checked at
connect time, redirects re-checked, one deadline, at most ``INTEL_IMPORT_MAX_BYTES``
read. The feed's credentials are sent only to the feed URL's own origin: a TAXII API
root or ``next`` link, a MISP event or a redirect on another host gets none (netguard
drops them on a cross-origin redirect; ``_headers`` leaves them off a request to
another origin)."""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings

from socapp import netguard

from .imports import ImportTooLarge
from .models import ThreatIntel


class PollFailed(Exception):
    """The feed could not be fetched or read; the message is shown on the feed page."""


def _credentials(feed: ThreatIntel) -> dict[str, Any]:
    return feed.credentials if isinstance(feed.credentials, dict) else {}


def _headers(feed: ThreatIntel, url: str, accept: str) -> dict[str, str]:
    headers = {"Accept": accept, "User-Agent": "socapp-intel"}
    if netguard.origin(url) != netguard.origin(feed.url):
        return headers
    credentials = _credentials(feed)
    if credentials.get("username"):
        pair = f"{credentials['username']}:{credentials.get('password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    if credentials.get("api_key"):  # MISP: the key is the Authorization header
        headers["Authorization"] = str(credentials["api_key"])
    for name, value in (credentials.get("headers") or {}).items():
        headers[str(name)] = str(value)
    return headers


def _secret_names(feed: ThreatIntel) -> frozenset[str]:
    credentials = _credentials(feed)
    return frozenset(str(name).lower() for name in credentials.get("headers") or {})


def fetch(feed: ThreatIntel, url: str, accept: str = "*/*") -> netguard.Fetched:
    """The answer to a GET of ``url`` for ``feed``; PollFailed unless it is a 200."""
    limit = settings.INTEL_IMPORT_MAX_BYTES
    try:
        fetched = netguard.request(
            "GET",
            url,
            headers=_headers(feed, url, accept),
            timeout=settings.INTEL_POLL_TIMEOUT_SECONDS,
            max_bytes=limit,
            max_redirects=3,
            secret_headers=_secret_names(feed),
        )
    except netguard.OutboundRefused as exc:
        raise PollFailed(f"{url}: refused: {exc.reason}") from None
    except (OSError, TimeoutError) as exc:
        raise PollFailed(f"{url}: {exc}") from None
    if fetched.truncated:
        raise ImportTooLarge(f"{url}: the answer is larger than {limit:,} bytes or too slow.")
    if fetched.status != 200:
        raise PollFailed(f"{url}: HTTP {fetched.status}")
    return fetched
