"""The Gunn exam detail in the segmental summary: trophic signs by dermatome, neurological deficits by
level, and each spondylotic segment linked to the roots it can involve (and whether they are involved)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.assessments.gunn_exam import ExamFields, roots_for_segment

SideName = Literal["left", "right"]


class SpondylosisLink(BaseModel):
    segment: str
    side: str
    source: Literal["imaging", "clinical"]
    signs: list[str]
    roots: list[str] = Field(description="Roots this segment can involve (exiting; lumbar also traversing)")
    involved: list[dict[str, str]] = Field(description="Those roots, per side, that are in the impression")


class NeuropathicResult(BaseModel):
    instrument: Literal["dn4"] = "dn4"
    score: int
    positive: bool
    cutoff: int = 4


def _sides(side: str) -> tuple[SideName, ...]:
    return ("left", "right") if side == "bilateral" else (side,)  # type: ignore[return-value]


def annotate(content: ExamFields, row: Callable[[str, SideName], Any], involved: set[tuple[str, str]]
             ) -> dict[str, Any]:
    """Mark rows (`row(level, side)` returns the LevelSideSummary) and return the summary's extra fields."""
    for sign in content.trophic_signs:
        if sign.dermatome is not None:
            for side in _sides(sign.side):
                r = row(sign.dermatome, side)
                r.skin_changes = sorted({*r.skin_changes, sign.sign})
                r.skin_changes_present = True
    for screen in content.neuro_screen:
        if screen.deficits():
            for side in _sides(screen.side):
                r = row(screen.level, side)
                r.neuro_deficits = [*r.neuro_deficits, *screen.deficits()]
    links = []
    for finding in content.spondylosis:
        roots = roots_for_segment(finding.segment) if "-" in finding.segment else ()
        for root in roots:
            for side in _sides(finding.side):
                r = row(root, side)
                r.spondylosis = sorted({*r.spondylosis, finding.segment})
        links.append(SpondylosisLink(
            segment=finding.segment, side=finding.side, source=finding.source, signs=finding.signs(),
            roots=list(roots), involved=[{"level": root, "side": side} for root in roots
                                         for side in _sides(finding.side) if (root, side) in involved]))
    dn4 = content.neuropathic_screen
    return {
        "spondylosis": links,
        "positive_neural_tension": [f"{t.test} {t.side}" for t in content.neural_tension if t.result == "positive"],
        "neuropathic_screen": NeuropathicResult(score=dn4.score or 0, positive=bool(dn4.positive)) if dn4 else None,
    }


def exam_lines(content: ExamFields) -> list[str]:
    """The exam detail as short lines of text, for the printed chart."""
    lines = []
    if content.neuro_screen:
        lines.append("Neuro screen: " + "; ".join(
            f"{s.level} {s.side}: " + ", ".join(x for x in (
                f"reflex {s.reflex}" if s.reflex else "", f"MRC {s.strength_mrc}/5" if s.strength_mrc is not None
                else "", f"light touch {s.light_touch}" if s.light_touch else "",
                f"pin prick {s.pin_prick}" if s.pin_prick else "") if x) for s in content.neuro_screen))
    if content.neural_tension:
        lines.append("Neural tension: " + "; ".join(
            f"{t.test} {t.side} {t.result}" + (f" at {t.angle_deg:g} deg" if t.angle_deg is not None else "")
            for t in content.neural_tension))
    if content.spondylosis:
        lines.append("Spondylosis: " + "; ".join(
            f"{s.segment} {s.side} ({s.source}): {', '.join(s.signs()) or 'no signs'}" for s in content.spondylosis))
    if content.trophic_signs or content.skin_temperature:
        lines.append("Trophic/autonomic: " + "; ".join(
            [f"{t.sign.replace('_', ' ')} {' '.join(x for x in (t.dermatome, t.region) if x)} {t.side}"
             + (f" (matchstick {t.matchstick_test})" if t.matchstick_test else "") for t in content.trophic_signs]
            + [f"skin {s.finding} {' '.join(x for x in (s.dermatome, s.region) if x)} {s.side}"
               for s in content.skin_temperature]))
    if content.neuropathic_screen is not None:
        dn4 = content.neuropathic_screen
        lines.append(f"DN4 {dn4.score}/10 ({'positive' if dn4.positive else 'negative'})")
    return lines
