"""The segmental map: the spine C1-S5 top to bottom, left and right columns, one glance per level.

Defined once, as a reportlab Drawing (`drawing`): the PDF chart places that Drawing and `render` writes the
same Drawing as SVG (app.kit.drawing), so the printed map and the on-screen map cannot disagree. The map
says whose it is and when the examination was, and every column is labelled and explained in the legend.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib.colors import HexColor

from app.assessments.summary import LevelSideSummary, SegmentalSummary
from app.kit.drawing import tag, to_svg
from app.kit.localtime import stamp
from app.models.clinical import Assessment
from app.models.enums import RecordStatus
from app.models.patient import Patient
from app.reference.catalog import Catalog

ROW, CELL_W, CELL_H, MARGIN = 15, 20, 10, 16
STEP = CELL_W + 4
TOP = 100  # y (from the top) of the first level's baseline
# Every finding kind the summary reports, each with its own colour. Columns mirror about the spine so the
# paraspinal cells sit next to it on both sides.
KINDS = ("skin", "tender_points", "muscle_shortening", "paraspinal_tenderness", "paraspinal_shortening")
COLOURS = {"muscle_shortening": "#c0392b", "tender_points": "#d68910", "skin": "#7d3c98",
           "paraspinal_shortening": "#1f618d", "paraspinal_tenderness": "#148f77"}
LABELS = {"muscle_shortening": "Shortened muscle", "tender_points": "Tender points", "skin": "Skin changes",
          "paraspinal_shortening": "Paraspinal shortening", "paraspinal_tenderness": "Paraspinal tenderness"}
ABBREVIATIONS = {"muscle_shortening": "MS", "tender_points": "TP", "skin": "SK", "paraspinal_shortening": "PS",
                 "paraspinal_tenderness": "PT"}
SPINE_X, SPINE_W = MARGIN + len(KINDS) * STEP + 8, 40
# Viewed from behind, as the therapist examines: the patient's left is on the left.
COLUMNS = {"left": (MARGIN, KINDS), "right": (SPINE_X + SPINE_W + 12, tuple(reversed(KINDS)))}
WIDTH = COLUMNS["right"][0] + len(KINDS) * STEP + 12
PRESENT = 0.75  # a sign recorded as present/absent, without a severity
INVOLVED = HexColor("#c0392b")


@dataclass(frozen=True)
class Caption:
    """Whose map and when: printed on the picture itself, so a saved or printed copy stands alone."""

    patient: str  # e.g. "LINDQVIST, Margaret - chart 000123 - born 1961-04-17"
    assessed: str  # clinic-local and labelled, e.g. "2026-11-10 10:00 EST"
    status: str  # draft | signed | discarded


def caption(patient: Patient, assessment: Assessment, zone: ZoneInfo) -> Caption:
    return Caption(f"{patient.family_name.upper()}, {patient.given_name} - chart {patient.chart_number} - "
                   f"born {patient.birth_date}", stamp(assessment.assessed_at, zone), assessment.status)


def _intensity(summary: LevelSideSummary | None, kind: str) -> float:
    """0 = no sign; otherwise 0.35-1.0 by severity (presence without a severity counts as moderate).

    Severity-0 entries (examined, not present) are not counted by the summary, so they shade nothing.
    """
    if summary is None:
        return 0.0
    if kind == "skin":
        n = len(summary.skin_changes)
        return 0.0 if n == 0 else min(1.0, 0.35 + 0.2 * n)
    if kind in ("paraspinal_shortening", "paraspinal_tenderness"):
        return PRESENT if getattr(summary, kind) else 0.0
    count = getattr(summary, kind)
    if count.count == 0:
        return 0.0
    severity = count.max_severity if count.max_severity is not None else 2
    return max(0.35, severity / 3)


def drawing(cat: Catalog, summary: SegmentalSummary, caption: Caption) -> Drawing:
    by_key: dict[tuple[str, str], LevelSideSummary] = {(r.level, r.side): r for r in summary.levels}
    involved = {(i["level"], i["side"]) for i in summary.involved}
    n = len(cat.levels)
    legend_top = TOP + ROW * n + 8
    legend_rows = (len(KINDS) + 1) // 2
    height = legend_top + 16 * (legend_rows + 1) + 12
    d = Drawing(WIDTH, height)

    def y(v: float) -> float:  # layout is written top-down; reportlab's origin is bottom-left
        return height - v

    def text(x: float, top: float, value: str, size: float = 9, anchor: str = "start", bold: bool = False,
             colour: str = "#000000") -> String:
        s = String(x, y(top), value, fontSize=size, textAnchor=anchor, fillColor=HexColor(colour),
                   fontName="Helvetica-Bold" if bold else "Helvetica")
        d.add(s)
        return s

    text(MARGIN, 18, "Gunn segmental map", 13, bold=True)
    text(MARGIN, 34, caption.patient)
    unsigned = "" if caption.status == RecordStatus.SIGNED else f" ({caption.status})"
    text(MARGIN, 48, f"Assessed {caption.assessed}{unsigned}")
    mid = SPINE_X + SPINE_W / 2
    text(mid, 70, "Level", 8, "middle", bold=True)
    for side, (x0, kinds) in COLUMNS.items():
        text(x0 + (len(kinds) * STEP - 4) / 2, 70, f"Patient's {side}", 10, "middle", bold=True)
        for k, kind in enumerate(kinds):  # a legend on every column
            tag(text(x0 + k * STEP + CELL_W / 2, 84, ABBREVIATIONS[kind], 7, "middle", bold=True,
                     colour=COLOURS[kind]), "column-head " + kind, LABELS[kind])
    d.add(Rect(SPINE_X, y(TOP - 12 + ROW * n + 4), SPINE_W, ROW * n + 4, rx=8, fillColor=HexColor("#ecf0f1"),
               strokeColor=None))
    for i, level in enumerate(cat.levels):
        top = TOP + i * ROW
        either = (level.code, "left") in involved or (level.code, "right") in involved
        text(mid, top + 3, level.code, 9, "middle", bold=either, colour="#c0392b" if either else "#000000")
        for side, (x0, kinds) in COLUMNS.items():
            row = by_key.get((level.code, side))
            if (level.code, side) in involved:
                d.add(tag(Rect(x0 - 3, y(top - 10 + ROW - 2), len(kinds) * STEP + 2, ROW - 2, rx=3, fillColor=None,
                               strokeColor=INVOLVED, strokeWidth=1.5), "involved", f"{level.code} {side}: involved"))
            for k, kind in enumerate(kinds):
                alpha = _intensity(row, kind)
                title = f"{level.code} {side}: {LABELS[kind]}" + ("" if alpha else " - none")
                d.add(tag(Rect(x0 + k * STEP, y(top - 8 + CELL_H), CELL_W, CELL_H, rx=2,
                               fillColor=HexColor(COLOURS[kind]), fillOpacity=alpha, strokeColor=HexColor("#bdc3c7"),
                               strokeWidth=0.5), f"finding {kind}", title))
    for k, kind in enumerate(KINDS):
        x, top = MARGIN + (k % 2) * (WIDTH // 2), legend_top + (k // 2) * 16
        d.add(tag(Rect(x, y(top + 10), 14, 10, fillColor=HexColor(COLOURS[kind]), strokeColor=None),
                  f"legend {kind}"))
        text(x + 18, top + 9, ABBREVIATIONS[kind], 8, bold=True)
        text(x + 36, top + 9, LABELS[kind], 8)
    top = legend_top + legend_rows * 16
    d.add(Rect(MARGIN, y(top + 10), 14, 10, fillColor=None, strokeColor=INVOLVED, strokeWidth=1.5))
    text(MARGIN + 18, top + 9, "Involved segment (impression); darker cell = more severe", 8)
    return d


def render(cat: Catalog, summary: SegmentalSummary, caption: Caption) -> str:
    return to_svg(drawing(cat, summary, caption), f"Gunn segmental map: {caption.patient}",
                  f"Findings per nerve-root level and side, assessment {summary.assessment_id} "
                  f"of {caption.assessed}")
