"""The segmental map: the spine C1-S5 top to bottom, left and right columns, one glance per level."""

from __future__ import annotations

from xml.sax.saxutils import escape

from app.assessments.summary import LevelSideSummary, SegmentalSummary
from app.reference.catalog import Catalog

ROW, TOP, CELL = 18, 64, 14
# Viewed from behind, as the therapist examines: the patient's left is on the left.
COLUMNS = {"left": (40, ("muscle_shortening", "tender_points", "skin")),
           "right": (230, ("muscle_shortening", "tender_points", "skin"))}
COLOURS = {"muscle_shortening": "#c0392b", "tender_points": "#d68910", "skin": "#7d3c98"}
LABELS = {"muscle_shortening": "Shortened muscle", "tender_points": "Tender points", "skin": "Skin changes"}


def _intensity(summary: LevelSideSummary | None, kind: str) -> float:
    """0 = no sign; otherwise 0.35-1.0 by severity (presence without a severity counts as moderate)."""
    if summary is None:
        return 0.0
    if kind == "skin":
        n = len(summary.skin_changes)
        return 0.0 if n == 0 else min(1.0, 0.35 + 0.2 * n)
    count = getattr(summary, kind)
    if count.count == 0:
        return 0.0
    severity = count.max_severity if count.max_severity is not None else 2
    return max(0.35, severity / 3)


def render(cat: Catalog, summary: SegmentalSummary) -> str:
    by_key: dict[tuple[str, str], LevelSideSummary] = {(r.level, r.side): r for r in summary.levels}
    involved = {(i["level"], i["side"]) for i in summary.involved}
    height = TOP + ROW * len(cat.levels) + 70
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="360" height="{height}" viewBox="0 0 360 {height}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="11" role="img">',
        "<title>Gunn segmental map</title>",
        f"<desc>Findings per nerve-root level and side for assessment {escape(summary.assessment_id)}</desc>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        '<text x="180" y="18" text-anchor="middle" font-size="14" font-weight="bold">Segmental map</text>',
        '<text x="82" y="44" text-anchor="middle" font-weight="bold">Left</text>',
        '<text x="272" y="44" text-anchor="middle" font-weight="bold">Right</text>',
        f'<rect x="160" y="{TOP - 12}" width="40" height="{ROW * len(cat.levels) + 4}" rx="8" fill="#ecf0f1"/>',
    ]
    for i, level in enumerate(cat.levels):
        y = TOP + i * ROW
        both = (level.code, "left") in involved or (level.code, "right") in involved
        weight = ' font-weight="bold" fill="#c0392b"' if both else ""
        out.append(f'<text x="180" y="{y + 3}" text-anchor="middle"{weight}>{escape(level.code)}</text>')
        for side, (x0, kinds) in COLUMNS.items():
            summary_row = by_key.get((level.code, side))
            if (level.code, side) in involved:
                out.append(f'<rect class="involved" x="{x0 - 4}" y="{y - 11}" width="{3 * (CELL + 14) + 4}" '
                           f'height="{ROW - 2}" rx="3" fill="none" stroke="#c0392b" stroke-width="2">'
                           f"<title>{escape(level.code)} {side}: involved</title></rect>")
            for k, kind in enumerate(kinds):
                alpha = _intensity(summary_row, kind)
                x = x0 + k * (CELL + 14)
                title = f"{level.code} {side}: {LABELS[kind]}" + ("" if alpha else " - none")
                out.append(f'<rect x="{x}" y="{y - 9}" width="{CELL + 10}" height="{CELL - 2}" rx="2" '
                           f'fill="{COLOURS[kind]}" fill-opacity="{alpha:.2f}" stroke="#bdc3c7" stroke-width="0.5">'
                           f"<title>{escape(title)}</title></rect>")
    legend_y = TOP + ROW * len(cat.levels) + 16
    for k, kind in enumerate(COLOURS):
        x = 20 + k * 115
        out.append(f'<rect x="{x}" y="{legend_y}" width="14" height="10" fill="{COLOURS[kind]}"/>')
        out.append(f'<text x="{x + 18}" y="{legend_y + 9}">{LABELS[kind]}</text>')
    out.append(f'<rect x="20" y="{legend_y + 20}" width="14" height="10" fill="none" stroke="#c0392b" '
               'stroke-width="2"/>')
    out.append(f'<text x="38" y="{legend_y + 29}">Involved segment (impression); darker = more severe</text>')
    out.append("</svg>")
    return "\n".join(out)
