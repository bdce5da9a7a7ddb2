"""Cells of the CSV files socapp hands out, guarded against spreadsheet formulas.

Text that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is a formula to
Excel and LibreOffice (``=HYPERLINK(...)`` leaks data, ``=cmd|...`` ran commands through
DDE), and log lines and comments are attacker-typed. Such cells get a leading ``'``, as
OWASP's CSV injection guidance says; numbers stay numbers, so a count of -2 is still -2.
Used by the incident reports and the event search's download. On the floor: no app.
"""

from __future__ import annotations

import json
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """Text as a cell: a leading ``'`` when a spreadsheet would read a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_cell(value: Any) -> str | int | float:
    """A plain value as a cell: nothing for None, yes/no for booleans, numbers as
    numbers, anything else as (JSON) text, never a live formula."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: True is an int to Python, "True" to a sheet
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    return safe_text(value if isinstance(value, str) else json.dumps(value, default=str))
