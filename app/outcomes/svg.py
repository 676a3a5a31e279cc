"""The progress picture: session pain before and after needling, and each instrument against its MCID.

Defined once as a reportlab Drawing (`drawing`), placed as is in the PDF chart and written as SVG by `render`.
Sessions and administrations sit on one dated time axis (clinic-local dates), spaced by real time, so two
visits a day apart never look a month apart. Each instrument panel shades its MCID band — the change from
baseline that is not yet clinically important — and says in words how the patient changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
from reportlab.lib.colors import HexColor

from app.kit.drawing import tag, to_svg
from app.kit.localtime import to_local
from app.outcomes.instruments import INSTRUMENTS
from app.outcomes.schemas import Progress

W, PANEL_H, GAP, LEFT, RIGHT, PAD = 540, 120, 78, 50, 20, 12
BEFORE, AFTER, SCORE = "#c0392b", "#27ae60", "#2e86c1"
GRID, AXIS, BAND = HexColor("#ecf0f1"), HexColor("#7f8c8d"), HexColor("#f5b7b1")


def describe(improvement: float, scores: int = 2) -> str:
    """'improved by 4 points' (improvement is positive whichever way the scale runs)."""
    if scores < 2:
        return "baseline only"
    value = round(abs(improvement), 2)
    unit = "point" if value == 1 else "points"
    return "no change" if value == 0 else f"{'improved' if improvement > 0 else 'worsened'} by {value:g} {unit}"


class _TimeAxis:
    def __init__(self, moments: Sequence[datetime], zone: ZoneInfo) -> None:
        self.zone = zone
        lo, hi = (min(moments), max(moments)) if moments else (datetime.now(zone), datetime.now(zone))
        if hi - lo < timedelta(days=1):  # one visit (or one day): a two-day window centred on it
            lo, hi = lo - timedelta(days=1), hi + timedelta(days=1)
        self.lo, self.hi = lo, hi

    def x(self, moment: datetime) -> float:
        share = (moment - self.lo) / (self.hi - self.lo)
        return LEFT + PAD + share * (W - LEFT - RIGHT - 2 * PAD)

    def ticks(self, n: int = 5) -> list[tuple[float, str]]:
        out: list[tuple[float, str]] = []
        for i in range(n):
            moment = self.lo + (self.hi - self.lo) * i / (n - 1)
            label = f"{to_local(moment, self.zone):%Y-%m-%d}"
            if not out or out[-1][1] != label:
                out.append((self.x(moment), label))
        return out


def drawing(progress: Progress, zone: ZoneInfo, title: str) -> Drawing:
    moments = [p.started_at for p in progress.pain] + [s.administered_at for i in progress.instruments
                                                        for s in i.scores]
    axis = _TimeAxis(moments, zone)
    panels = 1 + len(progress.instruments)
    height = 44 + panels * (PANEL_H + GAP)
    d = Drawing(W, height)

    def text(x: float, top: float, value: str, size: float = 9, anchor: str = "start", bold: bool = False,
             colour: str = "#000000") -> String:
        s = String(x, height - top, value, fontSize=size, textAnchor=anchor, fillColor=HexColor(colour),
                   fontName="Helvetica-Bold" if bold else "Helvetica")
        d.add(s)
        return s

    def panel(top: float, lo: float, hi: float, unit: str) -> None:
        """Frame, value gridlines and the dated axis of one panel whose plot area starts at `top`."""
        right = W - RIGHT
        for value in (lo, (lo + hi) / 2, hi):
            yy = y_of(top, value, lo, hi)
            d.add(Line(LEFT, yy, right, yy, strokeColor=GRID, strokeWidth=0.5))
            text(LEFT - 4, height - yy + 3, f"{value:g}", 7, "end")
        d.add(Rect(LEFT, height - top - PANEL_H, right - LEFT, PANEL_H, fillColor=None, strokeColor=AXIS,
                   strokeWidth=0.5))
        for x, label in axis.ticks():
            d.add(Line(x, height - top - PANEL_H, x, height - top - PANEL_H - 4, strokeColor=AXIS, strokeWidth=0.5))
            text(x, top + PANEL_H + 13, label, 7, "middle")
        text(LEFT - 30, top + PANEL_H / 2, unit, 7, "middle")
        text(W - RIGHT, top + PANEL_H + 25, f"date (clinic time, {zone.key})", 7, "end", colour="#555555")

    def y_of(top: float, value: float, lo: float, hi: float) -> float:
        return height - top - PANEL_H + (value - lo) / ((hi - lo) or 1) * PANEL_H

    def series(points: Sequence[tuple[float, float, float]], colour: str, label: str) -> None:
        if not points:
            return
        d.add(tag(PolyLine([v for x, yy, _ in points for v in (x, yy)] if len(points) > 1 else
                           [points[0][0], points[0][1], points[0][0], points[0][1]],
                           strokeColor=HexColor(colour), strokeWidth=1.5), "series", label))
        for x, yy, value in points:
            d.add(tag(Circle(x, yy, 2.5, fillColor=HexColor(colour), strokeColor=None), "point",
                      f"{label}: {value:g}"))

    text(W / 2, 18, title, 12, "middle", bold=True)
    top = 44 + 22
    pre = [(axis.x(p.started_at), y_of(top, p.pre_pain_nprs, 0, 10), p.pre_pain_nprs) for p in progress.pain
           if p.pre_pain_nprs is not None]
    post = [(axis.x(p.started_at), y_of(top, p.post_pain_nprs, 0, 10), p.post_pain_nprs) for p in progress.pain
            if p.post_pain_nprs is not None]
    trend = describe((pre[0][2] - pre[-1][2]) if pre else 0, len(pre)) if len(pre) > 1 else "one session so far"
    text(LEFT, top - 18, f"Session pain (NPRS 0-10) before needling: {trend}", 9, bold=True)
    text(LEFT, top - 6, "before needling", 8, colour=BEFORE)
    text(LEFT + 80, top - 6, "after needling", 8, colour=AFTER)
    panel(top, 0, 10, "NPRS")
    if not progress.pain:
        text(W / 2, top + PANEL_H / 2, "no treatment sessions recorded", 8, "middle", colour="#555555")
    series(pre, BEFORE, "pain before needling")
    series(post, AFTER, "pain after needling")
    for item in progress.instruments:
        top += PANEL_H + GAP
        lo, hi = INSTRUMENTS[item.instrument].score_range
        verdict = "MCID reached" if item.mcid_reached else "MCID not reached"
        text(LEFT, top - 18, f"{item.name}: {describe(item.improvement, len(item.scores))} "
                             f"(baseline {item.baseline:g}, latest {item.latest:g})", 9, bold=True)
        text(LEFT, top - 6, f"{verdict}; MCID {item.mcid:g} points; {item.better} is better; shaded: change "
                            "smaller than the MCID", 8, colour="#555555")
        panel(top, lo, hi, "score")
        target = item.baseline + item.mcid if item.better == "higher" else item.baseline - item.mcid
        edge = min(max(target, lo), hi)
        y0, y1 = sorted((y_of(top, item.baseline, lo, hi), y_of(top, edge, lo, hi)))
        d.add(tag(Rect(LEFT, y0, W - RIGHT - LEFT, max(y1 - y0, 0.5), fillColor=BAND, fillOpacity=0.45,
                       strokeColor=None), "mcid-band", f"MCID band: {item.baseline:g} to {target:g}"))
        if lo <= target <= hi:
            yy = y_of(top, target, lo, hi)
            d.add(tag(Line(LEFT, yy, W - RIGHT, yy, strokeColor=AXIS, strokeDashArray=[4, 3], strokeWidth=1),
                      "mcid", "MCID threshold"))
        series([(axis.x(s.administered_at), y_of(top, s.score, lo, hi), s.score) for s in item.scores], SCORE,
               item.instrument)
    return d


def render(progress: Progress, zone: ZoneInfo, title: str = "Episode progress") -> str:
    return to_svg(drawing(progress, zone, title), title,
                  "Session pain and outcome scores over time (clinic-local dates) against each instrument's MCID")
