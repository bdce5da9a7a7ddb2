"""A report as PDF (reportlab platypus): facts, texts, then one table per section.

Paragraph parses a markup of its own (<b>, <font>, <a href>, <img src>, entities), and
every string here comes from logs or from people: a rule titled ``<img src=x>`` must
print as those characters, not become an image tag or break the layout. So every piece
of text goes through ``_para``, which escapes it; nothing else builds a Paragraph.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, PropertySet, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .data import Cell, Duration, Report, Section

# Landscape: the sections are wide tables (nine columns for response actions).
PAGE = landscape(A4)
MARGIN = 15 * mm
# A table row taller than a page cannot be laid out at all, so long cells are cut here;
# the CSV carries every value whole.
CELL_LIMIT = 800
# Columns that hold prose get more room than dates and counts.
WIDE_COLUMNS = {"details", "title", "description", "parameters", "results", "entities", "value"}
MEDIUM_COLUMNS = {"rule", "source", "event_type", "kind", "severity", "status", "type"}
# C0 controls (bar tab and newline) from raw logs mean nothing on paper.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_STYLES = getSampleStyleSheet()
CELL = ParagraphStyle("cell", parent=_STYLES["BodyText"], fontSize=8, leading=10)
HEAD = ParagraphStyle("head", parent=CELL, fontName="Helvetica-Bold")
NOTE = ParagraphStyle("note", parent=_STYLES["BodyText"], fontSize=8, textColor=colors.grey)

GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf0")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _stamp(at: datetime) -> str:
    # The zone is said once, in the footer, so a timestamp fits a narrow column.
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def cell_text(value: Cell) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return _stamp(value)
    if isinstance(value, Duration):
        return _span(value.seconds)
    return str(value)


def _para(text: str, style: PropertySet = CELL, limit: int | None = CELL_LIMIT) -> Paragraph:
    """The one way text enters the PDF: control characters dropped, markup escaped."""
    text = _CONTROL.sub("", text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + " … (cut; the CSV has it whole)"
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _widths(columns: list[str], total: float) -> list[float]:
    weights = [
        4 if c in WIDE_COLUMNS else 2 if c in MEDIUM_COLUMNS or c.endswith("_at") else 1.5
        for c in columns
    ]
    return [total * w / sum(weights) for w in weights]


def _section(section: Section, width: float) -> list[Flowable]:
    parts: list[Flowable] = [_para(section.title, _STYLES["Heading2"], limit=None)]
    if section.note:
        parts.append(_para(section.note, NOTE, limit=None))
    if not section.rows:
        parts.append(_para("None.", NOTE))
        return parts
    header = [_para(name.replace("_", " "), HEAD) for name in section.columns]
    body = [[_para(cell_text(value)) for value in row] for row in section.rows]
    table = Table([header, *body], colWidths=_widths(section.columns, width), repeatRows=1)
    table.setStyle(GRID)
    parts.append(table)
    return parts


def _facts(report: Report, width: float) -> Table:
    rows = [[_para(label, HEAD), _para(cell_text(value))] for label, value in report.facts]
    table = Table(rows, colWidths=[width * 0.25, width * 0.75])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _footer(report: Report) -> Any:
    """Marking, title and page number on every page: a printed page travels alone."""
    zone = timezone.localtime().strftime("%Z")
    line = f"{report.marking} · {_CONTROL.sub('', report.title)[:90]} · times in {zone}"

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(MARGIN, 8 * mm, line)
        canvas.drawRightString(PAGE[0] - MARGIN, 8 * mm, f"page {doc.page}")
        canvas.drawRightString(PAGE[0] - MARGIN, PAGE[1] - 8 * mm, report.marking)
        canvas.restoreState()

    return draw


def render_pdf(report: Report) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=_CONTROL.sub("", report.title),
        author="socapp",
    )
    width = doc.width
    story: list[Flowable] = [
        _para(report.title, _STYLES["Title"], limit=None),
        _facts(report, width),
    ]
    for title, text in report.texts:
        story += [_para(title, _STYLES["Heading2"], limit=None), _para(text, limit=None)]
    for section in report.sections:
        story += [Spacer(1, 3 * mm), *_section(section, width)]
    draw = _footer(report)
    doc.build(story, onFirstPage=draw, onLaterPages=draw)
    return buffer.getvalue()
