"""CVE identifiers, found and made canonical (``CVE-2021-44228``).

Scanners write them as ``CVE-2021-44228``; Suricata/ET rule metadata as
``CVE_2021_44228``; Snort/Suricata ``reference:cve,2021-44228``; Sigma tags as
``cve.2021-44228``. Each is read here, so the inventory and alerts agree on one form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# The year, then 4 to 7 digits (MITRE's sequence numbers have no fixed width).
_CVE = re.compile(r"^CVE[-_](\d{4})[-_](\d{4,7})$", re.IGNORECASE)
_IN_TEXT = re.compile(r"\bCVE[-_](\d{4})[-_](\d{4,7})\b", re.IGNORECASE)
_REFERENCE = re.compile(r"reference\s*:\s*cve\s*,\s*(?:CVE-)?(\d{4})-(\d{4,7})", re.IGNORECASE)
_TAG = re.compile(r"^cve\.(\d{4})[-_.](\d{4,7})$", re.IGNORECASE)
MAX_PER_TEXT = 20  # CVEs taken from one text: a rule naming more is not about one


def canonical(value: str) -> str | None:
    """``CVE-YYYY-NNNN`` for a CVE id in any of the forms above, else None."""
    text = value.strip()
    match = _CVE.match(text) or _TAG.match(text)
    return f"CVE-{match[1]}-{match[2]}" if match else None


def in_text(text: str) -> list[str]:
    """The CVE ids a signature, rule text or report cell names, in order, once each."""
    found: list[str] = []
    for match in [*_IN_TEXT.finditer(text[:10_000]), *_REFERENCE.finditer(text[:10_000])]:
        cve = f"CVE-{match[1]}-{match[2]}"
        if cve not in found:
            found.append(cve)
        if len(found) >= MAX_PER_TEXT:
            break
    return found


def listed(values: Iterable[object]) -> list[str]:
    """The CVE ids among ``values`` (each a whole id in a form above), in order, once
    each, at most ``MAX_PER_TEXT``."""
    found: list[str] = []
    for value in values:
        if isinstance(value, str) and (cve := canonical(value)) and cve not in found:
            found.append(cve)
    return found[:MAX_PER_TEXT]


def of_tags(tags: Iterable[object]) -> list[str]:
    """CVE ids of a rule's Sigma tags (``cve.2021-44228``)."""
    return listed(tags)
