"""The segmental summary: which levels and sides show which signs, and what to needle."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.assessments.exam_summary import NeuropathicResult, SpondylosisLink, annotate
from app.assessments.schemas import AssessmentContent
from app.reference.catalog import Catalog, over_pleura

SIDES: tuple[Literal["left", "right"], ...] = ("left", "right")


class SignCount(BaseModel):
    """Signs present at a level and side. Severity 0 means examined and not present: not a sign."""

    count: int = 0
    max_severity: int | None = None

    def add(self, severity: int | None) -> bool:
        """Count a finding unless its severity is 0; return whether it counted."""
        if severity == 0:
            return False
        self.count += 1
        if severity is not None:
            self.max_severity = max(self.max_severity or 0, severity)
        return True


class LevelSideSummary(BaseModel):
    level: str
    side: Literal["left", "right"]
    muscle_shortening: SignCount = Field(default_factory=SignCount)
    tender_points: SignCount = Field(default_factory=SignCount)
    motor_points: int = 0
    skin_changes: list[str] = Field(default_factory=list)
    skin_changes_present: bool = False
    paraspinal_shortening: bool = False
    paraspinal_tenderness: bool = False
    in_impression: bool = False
    # Gunn exam detail (exam_summary.py): deficits of the neuro screen; segments whose spondylosis involves it
    neuro_deficits: list[str] = Field(default_factory=list)
    spondylosis: list[str] = Field(default_factory=list)


class NeedlingTarget(BaseModel):
    muscle: str
    name: str
    kind: Literal["peripheral", "paraspinal"]
    level: str
    side: Literal["left", "right"]
    reason: Literal["shortened", "paraspinal_segment"]
    thoracic: bool = Field(False, description="Overlies the pleura: pneumothorax safeguards apply if needled")


class SegmentalSummary(BaseModel):
    assessment_id: str
    involved: list[dict[str, str]]
    levels: list[LevelSideSummary]
    suggested_targets: list[NeedlingTarget]
    spondylosis: list[SpondylosisLink] = Field(default_factory=list)
    positive_neural_tension: list[str] = Field(default_factory=list)
    neuropathic_screen: NeuropathicResult | None = None


def _sides(side: str) -> tuple[Literal["left", "right"], ...]:
    return SIDES if side == "bilateral" else (side,)  # type: ignore[return-value]


def summarise(cat: Catalog, content: AssessmentContent, assessment_id: str) -> SegmentalSummary:
    rows: dict[tuple[str, str], LevelSideSummary] = {}

    def row(level: str, side: Literal["left", "right"]) -> LevelSideSummary:
        return rows.setdefault((level, side), LevelSideSummary(level=level, side=side))

    involved: set[tuple[str, str]] = {(seg.level, s) for seg in content.impression for s in _sides(seg.side)}
    for finding in content.findings:
        for side in _sides(finding.side):
            r = row(finding.level, side)
            for m in finding.muscle_shortening:
                r.muscle_shortening.add(m.severity)
            for t in finding.tender_points:
                if r.tender_points.add(t.severity):
                    r.motor_points += t.motor_point
            r.skin_changes = sorted({*r.skin_changes, *finding.skin_changes.present()})
            r.skin_changes_present = bool(r.skin_changes)
            r.paraspinal_shortening |= finding.paraspinal_shortening
            r.paraspinal_tenderness |= finding.paraspinal_tenderness
    exam = annotate(content, row, involved)
    for level_code, side_name in involved:
        row(level_code, side_name).in_impression = True  # type: ignore[arg-type]

    ordered = sorted(rows.values(), key=lambda r: (cat.ordinal(r.level), r.side))
    return SegmentalSummary(
        assessment_id=assessment_id,
        involved=[{"level": lv, "side": sd} for lv, sd in sorted(involved, key=lambda k: (cat.ordinal(k[0]), k[1]))],
        levels=[r for r in ordered if _has_sign(r) or r.in_impression],
        suggested_targets=_targets(cat, content, involved),
        **exam,
    )


def _has_sign(r: LevelSideSummary) -> bool:
    return bool(r.muscle_shortening.count or r.tender_points.count or r.skin_changes_present
                or r.paraspinal_shortening or r.paraspinal_tenderness or r.neuro_deficits or r.spondylosis)


def _targets(cat: Catalog, content: AssessmentContent, involved: set[tuple[str, str]]) -> list[NeedlingTarget]:
    """Gunn: needle the shortened muscles of each involved segment and the paraspinals at that segment."""
    out: dict[tuple[str, str], NeedlingTarget] = {}

    def add(code: str, level: str, side: Literal["left", "right"], reason: Literal["shortened", "paraspinal_segment"]
            ) -> None:
        muscle = cat.muscle(code)
        if muscle is not None and (code, side) not in out:
            out[(code, side)] = NeedlingTarget(muscle=code, name=muscle.name, kind=muscle.kind,  # type: ignore[arg-type]
                                               level=level, side=side, reason=reason,
                                               thoracic=over_pleura(muscle, level))

    for level, side in sorted(involved, key=lambda k: (cat.ordinal(k[0]), k[1])):
        for finding in content.findings:
            if finding.level == level and side in _sides(finding.side):
                for m in finding.muscle_shortening:
                    if m.severity != 0:
                        add(m.muscle, level, side, "shortened")  # type: ignore[arg-type]
        for muscle in cat.paraspinals_for_level(level):
            add(muscle.code, level, side, "paraspinal_segment")  # type: ignore[arg-type]
    return sorted(out.values(), key=lambda t: (cat.ordinal(t.level), t.side, t.kind != "paraspinal", t.name))
