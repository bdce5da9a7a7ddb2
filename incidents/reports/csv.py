"""A report as one CSV file, and the cell guard against spreadsheet formulas.

Layout: the first column of every row is the section (``incident``, ``timeline``,
``alerts``, ...); the first row of each section names its columns. The report's facts come
first as section ``report`` with columns ``field, value``. One file keeps a report one
download, and filtering column A gives any one table back.

Text that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is a formula to
Excel and LibreOffice (``=HYPERLINK(...)`` leaks data, ``=cmd|...`` ran commands through
DDE), and log lines and comments are attacker-typed. Such cells get a leading ``'``, as
OWASP's CSV injection guidance says; numbers stay numbers, so a count of -2 is still -2.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from .data import Duration, Report

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str | int | float:
    """One cell's value as the CSV writer should see it (never a live formula)."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: True is an int to Python, "True" to a sheet
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Duration):
        return "" if value.seconds is None else value.seconds
    if isinstance(value, datetime):
        return value.isoformat()
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def render_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    # Text quoted, numbers bare: a quoted cell is text to most importers, a second
    # guard for what starts with a quote already.
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(["report", "field", "value"])
    writer.writerow(["report", "title", safe_cell(report.title)])
    writer.writerow(["report", "marking", safe_cell(report.marking)])
    for label, value in report.facts:
        writer.writerow(["report", safe_cell(label), safe_cell(value)])
    for label, text in report.texts:
        writer.writerow(["report", safe_cell(label), safe_cell(text)])
    for section in report.sections:
        writer.writerow([section.key, *section.columns])
        writer.writerows([section.key, *map(safe_cell, row)] for row in section.rows)
    # The BOM is how Excel knows the file is UTF-8 (without it, accents turn to mojibake).
    return buffer.getvalue().encode("utf-8-sig")
