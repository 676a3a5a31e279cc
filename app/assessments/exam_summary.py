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
