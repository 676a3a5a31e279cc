"""The progress picture: session pain before and after needling, and each instrument against its MCID."""

from __future__ import annotations

from xml.sax.saxutils import escape

from app.outcomes.instruments import INSTRUMENTS
from app.outcomes.schemas import Progress

W, PANEL_H, LEFT, RIGHT = 560, 150, 50, 20


def _polyline(points: list[tuple[float, float]], colour: str, label: str) -> list[str]:
    if not points:
        return []
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    out = [f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2">'
           f"<title>{escape(label)}</title></polyline>"]
    out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
    return out


def _x(i: int, n: int) -> float:
    return LEFT + (W - LEFT - RIGHT) * (i / max(1, n - 1) if n > 1 else 0.5)


def render(progress: Progress) -> str:
    panels = 1 + len(progress.instruments)
    height = 40 + panels * (PANEL_H + 40)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" '
           'font-family="Helvetica, Arial, sans-serif" font-size="11" role="img">',
           "<title>Episode progress</title>", '<rect width="100%" height="100%" fill="#ffffff"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">Progress</text>']
    top = 40
    n = len(progress.pain)

    def y_of(value: float, lo: float, hi: float) -> float:
        return top + PANEL_H - (value - lo) / ((hi - lo) or 1) * PANEL_H

    out.append(f'<text x="{LEFT}" y="{top - 6}" font-weight="bold">Session pain (NPRS 0-10): '
               '<tspan fill="#c0392b">before</tspan> / <tspan fill="#27ae60">after</tspan> needling</text>')
    out.append(f'<rect x="{LEFT}" y="{top}" width="{W - LEFT - RIGHT}" height="{PANEL_H}" fill="none" '
               'stroke="#bdc3c7"/>')
    pre = [(_x(i, n), y_of(p.pre_pain_nprs, 0, 10)) for i, p in enumerate(progress.pain) if p.pre_pain_nprs is not None]
    post = [(_x(i, n), y_of(p.post_pain_nprs, 0, 10)) for i, p in enumerate(progress.pain)
            if p.post_pain_nprs is not None]
    out += _polyline(pre, "#c0392b", "pain before needling") + _polyline(post, "#27ae60", "pain after needling")
    for item in progress.instruments:
        top += PANEL_H + 40
        inst = INSTRUMENTS[item.instrument]
        lo, hi = inst.score_range
        verdict = "MCID reached" if item.mcid_reached else "MCID not reached"
        out.append(f'<text x="{LEFT}" y="{top - 6}" font-weight="bold">{escape(item.name)}: change {item.change:+g} '
                   f"({escape(verdict)}, MCID {item.mcid:g}; {item.better} is better)</text>")
        out.append(f'<rect x="{LEFT}" y="{top}" width="{W - LEFT - RIGHT}" height="{PANEL_H}" fill="none" '
                   'stroke="#bdc3c7"/>')
        target = item.baseline + item.mcid if item.better == "higher" else item.baseline - item.mcid
        if lo <= target <= hi:
            y = y_of(target, lo, hi)
            out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#7f8c8d" '
                       'stroke-dasharray="4 3"><title>MCID threshold</title></line>')
        m = len(item.scores)
        points = [(_x(i, m), y_of(s.score, lo, hi)) for i, s in enumerate(item.scores)]
        out += _polyline(points, "#2e86c1", item.instrument)
    out.append("</svg>")
    return "\n".join(out)
