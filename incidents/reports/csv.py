"""A report as one CSV file, and the cell guard against spreadsheet formulas.

Layout: the first column of every row is the section (``incident``, ``timeline``,
``alerts``, ...); the first row of each section names its columns. The report's facts come
first as section ``report`` with columns ``field, value``. One file keeps a report one
download, and filtering column A gives any one table back.

Cells are guarded against spreadsheet formulas by socapp/csvsafe.py (log lines and
comments are attacker-typed); report values it does not know (decimals, durations,
times) are turned into numbers and text first.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

from socapp import csvsafe

from .data import Duration, Report


def safe_cell(value: Any) -> str | int | float:
    """One cell's value as the CSV writer should see it (never a live formula)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Duration):
        return "" if value.seconds is None else value.seconds
    if isinstance(value, datetime):
        return value.isoformat()
    return csvsafe.safe_cell(value)


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
