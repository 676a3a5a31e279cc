"""The PDF chart's typography and the small building blocks every section uses.

Headings keep with what follows them (`keepWithNext`), so a heading never ends a page alone; tables wrap
their cells so long notes do not run off the page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.platypus import Paragraph, Table, TableStyle
from reportlab.platypus.flowables import Flowable

_BASE = getSampleStyleSheet()
H1 = _BASE["Title"]
H2 = ParagraphStyle("ChartH2", parent=_BASE["Heading2"], keepWithNext=1, spaceBefore=10)
H3 = ParagraphStyle("ChartH3", parent=_BASE["Heading4"], keepWithNext=1, spaceBefore=4, spaceAfter=2)
BODY = ParagraphStyle("ChartBody", parent=_BASE["BodyText"], fontSize=9, leading=11.5, spaceBefore=1, spaceAfter=1)
SMALL = ParagraphStyle("ChartSmall", parent=_BASE["Italic"], fontSize=8, leading=10)
CELL = ParagraphStyle("ChartCell", parent=_BASE["BodyText"], fontSize=7, leading=8.5, spaceBefore=0, spaceAfter=0)
HEAD_CELL = ParagraphStyle("ChartHeadCell", parent=CELL, fontName="Helvetica-Bold")
FRAME_WIDTH = 504  # 7 inches: LETTER with 0.75 in margins


def p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text), style)


def labelled(label: str, value: str | None) -> Paragraph | None:
    """'Label: value' with the label in bold; None when there is nothing to say."""
    if value is None or value == "":
        return None
    return Paragraph(f"<b>{escape(label)}:</b> {escape(value)}", BODY)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float] | None = None) -> Table:
    data = [[Paragraph(escape(h), HEAD_CELL) for h in header]]
    data += [[Paragraph(escape(cell), CELL) for cell in row] for row in rows]
    out = Table(data, colWidths=list(widths) if widths else None, repeatRows=1, hAlign="LEFT")
    out.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e5e8e8"))]))
    return out


def fit(d: Drawing, width: float = FRAME_WIDTH, max_height: float = 560) -> Drawing:
    """Scale a chart down (never up) to fit the page frame; the drawing itself is unchanged in content."""
    factor = min(1.0, width / d.width, max_height / d.height)
    if factor < 1:
        d.scale(factor, factor)
        d.width, d.height = d.width * factor, d.height * factor
    return d


def value(v: Any) -> str:
    """A stored value as a reader would want it printed (for amendments' before and after)."""
    if v is None or v == [] or v == {}:
        return "(none)"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, str):
        return f'"{v}"' if len(v) <= 300 else f'"{v[:297]}..."'
    if isinstance(v, int | float):
        return f"{v:g}"
    text = json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= 300 else text[:297] + "..."


def nonempty(*items: Flowable | None) -> list[Flowable]:
    return [i for i in items if i is not None]
