"""Importing threat intel: one module per format, one shared collector and store.

``collect(fmt, data, ...)`` reads a document of a format into a ``Collector`` (refusing
it whole with ``ImportRefused`` when it is malformed or over a limit);
``store.store`` writes the collector into a feed in one transaction. docs/INTEL.md.
"""

from __future__ import annotations

from ..choices import FeedFormat
from .base import Collector, ImportRefused, ImportTooLarge, Limits
from .misp import parse_events
from .mispfeed import read_zip
from .stix import parse_bundle
from .tabular import parse_csv, parse_list, parse_mapping

# What a file can be imported as (TAXII is a protocol: feeds poll it).
FILE_FORMATS = (
    FeedFormat.STIX,
    FeedFormat.MISP,
    FeedFormat.MISP_FEED,
    FeedFormat.CSV,
    FeedFormat.LIST,
)


def collect(
    fmt: str,
    data: bytes,
    *,
    mapping: str | None = None,
    ioc_type: str | None = None,
    limits: Limits | None = None,
    name: str = "the file",
) -> Collector:
    """``data`` read as ``fmt``; ``mapping`` (CSV) and ``ioc_type`` (CSV, list) as in
    ``tabular``. ValueError for options that make no sense, ImportRefused for input."""
    collector = Collector(limits or Limits.from_settings())
    if fmt == FeedFormat.STIX:
        parse_bundle(data, collector, name)
    elif fmt == FeedFormat.MISP:
        parse_events(data, collector, name)
    elif fmt == FeedFormat.MISP_FEED:
        read_zip(data, collector, name)
    elif fmt == FeedFormat.CSV:
        parse_csv(data, collector, parse_mapping(mapping, ioc_type), name)
    elif fmt == FeedFormat.LIST:
        parse_list(data, collector, ioc_type, name)
    else:
        raise ValueError(f"Unknown format {fmt!r}: one of {', '.join(FILE_FORMATS)}.")
    return collector


__all__ = ["FILE_FORMATS", "Collector", "ImportRefused", "ImportTooLarge", "Limits", "collect"]
