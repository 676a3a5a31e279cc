"""The segmental map: the spine C1-S5 top to bottom, left and right columns, one glance per level."""

from __future__ import annotations

from xml.sax.saxutils import escape

from app.assessments.summary import LevelSideSummary, SegmentalSummary
from app.reference.catalog import Catalog

ROW, TOP, CELL = 18, 64, 14
STEP = CELL + 14  # one finding cell (CELL + 10 wide) and its gap
# Every finding kind the summary reports, each with its own colour. Columns mirror about the spine so the
# paraspinal cells sit next to it on both sides.
KINDS = ("skin", "tender_points", "muscle_shortening", "paraspinal_tenderness", "paraspinal_shortening")
COLOURS = {"muscle_shortening": "#c0392b", "tender_points": "#d68910", "skin": "#7d3c98",
           "paraspinal_shortening": "#1f618d", "paraspinal_tenderness": "#148f77"}
LABELS = {"muscle_shortening": "Shortened muscle", "tender_points": "Tender points", "skin": "Skin changes",
          "paraspinal_shortening": "Paraspinal shortening", "paraspinal_tenderness": "Paraspinal tenderness"}
SPINE_X, SPINE_W = 16 + len(KINDS) * STEP + 8, 40
# Viewed from behind, as the therapist examines: the patient's left is on the left.
COLUMNS = {"left": (16, KINDS), "right": (SPINE_X + SPINE_W + 12, tuple(reversed(KINDS)))}
WIDTH = COLUMNS["right"][0] + len(KINDS) * STEP + 12
PRESENT = 0.75  # a sign recorded as present/absent, without a severity


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


def render(cat: Catalog, summary: SegmentalSummary) -> str:
    by_key: dict[tuple[str, str], LevelSideSummary] = {(r.level, r.side): r for r in summary.levels}
    involved = {(i["level"], i["side"]) for i in summary.involved}
    spine_h = ROW * len(cat.levels) + 4
    legend_rows = (len(KINDS) + 1) // 2
    height = TOP + ROW * len(cat.levels) + 16 + 16 * legend_rows + 24
    mid = SPINE_X + SPINE_W // 2
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="11" role="img">',
        "<title>Gunn segmental map</title>",
        f"<desc>Findings per nerve-root level and side for assessment {escape(summary.assessment_id)}</desc>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<text x="{mid}" y="18" text-anchor="middle" font-size="14" font-weight="bold">Segmental map</text>',
    ]
    for side, (x0, _) in COLUMNS.items():
        centre = x0 + (len(KINDS) * STEP - 4) // 2
        out.append(f'<text x="{centre}" y="44" text-anchor="middle" font-weight="bold">{side.title()}</text>')
    out.append(f'<rect x="{SPINE_X}" y="{TOP - 12}" width="{SPINE_W}" height="{spine_h}" rx="8" fill="#ecf0f1"/>')
    for i, level in enumerate(cat.levels):
        y = TOP + i * ROW
        both = (level.code, "left") in involved or (level.code, "right") in involved
        weight = ' font-weight="bold" fill="#c0392b"' if both else ""
        out.append(f'<text x="{mid}" y="{y + 3}" text-anchor="middle"{weight}>{escape(level.code)}</text>')
        for side, (x0, kinds) in COLUMNS.items():
            summary_row = by_key.get((level.code, side))
            if (level.code, side) in involved:
                out.append(f'<rect class="involved" x="{x0 - 4}" y="{y - 11}" width="{len(kinds) * STEP + 4}" '
                           f'height="{ROW - 2}" rx="3" fill="none" stroke="#c0392b" stroke-width="2">'
                           f"<title>{escape(level.code)} {side}: involved</title></rect>")
            for k, kind in enumerate(kinds):
                alpha = _intensity(summary_row, kind)
                x = x0 + k * STEP
                title = f"{level.code} {side}: {LABELS[kind]}" + ("" if alpha else " - none")
                out.append(f'<rect class="finding {kind}" x="{x}" y="{y - 9}" width="{CELL + 10}" '
                           f'height="{CELL - 2}" rx="2" fill="{COLOURS[kind]}" fill-opacity="{alpha:.2f}" '
                           f'stroke="#bdc3c7" stroke-width="0.5"><title>{escape(title)}</title></rect>')
    legend_y = TOP + ROW * len(cat.levels) + 16
    for k, kind in enumerate(KINDS):
        x, y = 16 + (k % 2) * (WIDTH // 2), legend_y + (k // 2) * 16
        out.append(f'<rect class="legend {kind}" x="{x}" y="{y}" width="14" height="10" fill="{COLOURS[kind]}"/>')
        out.append(f'<text x="{x + 18}" y="{y + 9}">{LABELS[kind]}</text>')
    y = legend_y + legend_rows * 16
    out.append(f'<rect x="16" y="{y}" width="14" height="10" fill="none" stroke="#c0392b" stroke-width="2"/>')
    out.append(f'<text x="34" y="{y + 9}">Involved segment (impression); darker = more severe</text>')
    out.append("</svg>")
    return "\n".join(out)
