"""How the tissue answered the needle, and what changed (docs/gunn-exam.md, "treatment responses").

Per needle: the grasp's release time, fibrotic resistance, a local flare and the retention time without
e-stim. Per session: a structured retest of each muscle (range of motion and tenderness before and after)
and the soreness the patient reports from the previous session. All optional: older sessions stay valid.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from app.kit.clinical_types import STRICT, Code, Item, Note
from app.kit.errors import FieldError, Unprocessable
from app.models.enums import RecordStatus
from app.models.treatment import Treatment
from app.reference.catalog import Catalog

if TYPE_CHECKING:
    from app.treatments.schemas import TreatmentContent

Nprs = Annotated[int, Field(ge=0, le=10)]


class NeedleResponse(BaseModel):
    model_config = STRICT
    grasp_release_s: float | None = Field(None, ge=0, le=3600, description=(
        "Seconds until the muscle released its grasp on the needle; needs 'grasp' among the needle's responses"))
    fibrotic_resistance: Literal["none", "mild", "marked"] | None = Field(
        None, description="Gritty, fibrotic resistance to the needle")
    local_flare: bool | None = Field(None, description="Cutaneous flare (erythema) around the needle")
    retention_min: float | None = Field(None, ge=0, le=120, description="Minutes left in place without e-stim")


class MuscleRetest(BaseModel):
    """One muscle retested before and after needling: range of motion and/or tenderness, as pairs."""

    model_config = STRICT
    muscle: Code = Field(description="Muscle code from /api/v1/reference/muscles")
    side: Literal["left", "right"]
    movement: Item | None = Field(None, examples=["straight-leg raise"])
    rom_before_deg: float | None = Field(None, ge=-360, le=360)
    rom_after_deg: float | None = Field(None, ge=-360, le=360)
    tenderness_before: Nprs | None = Field(None, description="Pain on palpation, 0-10")
    tenderness_after: Nprs | None = None
    algometry_before_kg_cm2: float | None = Field(None, gt=0, le=20)
    algometry_after_kg_cm2: float | None = Field(None, gt=0, le=20)
    notes: Note | None = None

    @model_validator(mode="after")
    def _pairs(self) -> MuscleRetest:
        pairs = (("rom_before_deg", "rom_after_deg"), ("tenderness_before", "tenderness_after"),
                 ("algometry_before_kg_cm2", "algometry_after_kg_cm2"))
        complete = 0
        for before, after in pairs:
            if (getattr(self, before) is None) != (getattr(self, after) is None):
                missing = before if getattr(self, before) is None else after
                raise ValueError(f"{missing} is missing: a retest records before and after")
            complete += getattr(self, before) is not None
        if not complete:
            raise ValueError("record range of motion, tenderness or algometry before and after")
        if self.rom_before_deg is not None and self.movement is None:
            raise ValueError("name the movement whose range was measured")
        return self


class SorenessReport(BaseModel):
    """Post-needling soreness, reported by the patient at this (the next) visit."""

    model_config = STRICT
    treatment_id: uuid.UUID | None = Field(None, description="The earlier session it followed")
    present: bool
    nprs: Nprs | None = Field(None, description="Worst soreness, 0-10")
    duration_hours: float | None = Field(None, ge=0, le=336)
    location: Item | None = None
    notes: Note | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SorenessReport:
        if not self.present and ((self.nprs or 0) > 0 or (self.duration_hours or 0) > 0):
            raise ValueError("soreness is reported absent but rated; set present to true")
        return self


class ResponseFields(BaseModel):
    """Mixed into the session content (app.treatments.schemas)."""

    model_config = STRICT
    muscle_retests: list[MuscleRetest] = Field(default_factory=list, max_length=60)
    soreness_since_last_visit: SorenessReport | None = None


class ResponseUpdate(BaseModel):
    model_config = STRICT
    muscle_retests: list[MuscleRetest] | None = Field(None, max_length=60)
    soreness_since_last_visit: SorenessReport | None = None


RESPONSE_LISTS = ("muscle_retests",)


def check(session: Session, cat: Catalog, content: TreatmentContent, patient_id: uuid.UUID | None,
          treatment_id: uuid.UUID | None, prefix: str = "") -> None:
    """422 naming the field: a release time without a grasp, an unknown retest muscle, a soreness report
    pointing at another patient's (or a later) session."""
    errors: list[FieldError] = []
    for i, needle in enumerate(content.needles):
        detail = needle.response_details
        if detail is not None and detail.grasp_release_s is not None and "grasp" not in needle.responses:
            errors.append(FieldError(field=f"{prefix}needles[{i}].response_details.grasp_release_s",
                                     message="a release time needs 'grasp' among the needle's responses"))
    seen: dict[tuple[str, str, str | None], int] = {}
    for i, retest in enumerate(content.muscle_retests):
        path = f"{prefix}muscle_retests[{i}]"
        if cat.muscle(retest.muscle) is None:
            errors.append(FieldError(field=f"{path}.muscle",
                                     message=f"unknown muscle code {retest.muscle!r}; see /api/v1/reference/muscles"))
        key = (retest.muscle, retest.side, retest.movement)
        if key in seen:
            errors.append(FieldError(field=f"{path}.muscle",
                                     message=f"already retested at muscle_retests[{seen[key]}]"))
        seen.setdefault(key, i)
    report = content.soreness_since_last_visit
    if report is not None and report.treatment_id is not None:
        earlier = session.get(Treatment, report.treatment_id)
        field = f"{prefix}soreness_since_last_visit.treatment_id"
        if earlier is None or earlier.patient_id != patient_id or earlier.status == RecordStatus.DISCARDED:
            errors.append(FieldError(field=field, message="no such session for this patient"))
        elif earlier.id == treatment_id or _not_before(earlier, content):
            errors.append(FieldError(field=field, message="must be an earlier session than this one"))
    if errors:
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors[:5]), errors=errors)


def _not_before(earlier: Treatment, content: TreatmentContent) -> bool:
    return earlier.started_at >= content.started_at  # both aware UTC (models.base.UTCDateTime)


def retest_warnings(content: TreatmentContent) -> list[tuple[str, str]]:
    """(field, message) for a retest of a muscle that was not needled in the session."""
    needled = {(n.muscle, n.side) for n in content.needles}
    return [(f"muscle_retests[{i}].muscle", f"{r.muscle} {r.side} was retested but not needled in this session")
            for i, r in enumerate(content.muscle_retests) if (r.muscle, r.side) not in needled]


def response_lines(content: dict[str, Any]) -> list[str]:
    """Retests and reported soreness as short lines of text, for the printed chart."""
    lines = []
    for r in content.get("muscle_retests") or []:
        parts = [f"{label} {r[a]:g} -> {r[b]:g}" for label, a, b in (
            (r.get("movement") or "ROM", "rom_before_deg", "rom_after_deg"),
            ("tenderness", "tenderness_before", "tenderness_after"),
            ("algometry", "algometry_before_kg_cm2", "algometry_after_kg_cm2")) if r.get(a) is not None]
        lines.append(f"Retest {r['muscle'].replace('_', ' ')} {r['side']}: " + "; ".join(parts))
    soreness = content.get("soreness_since_last_visit")
    if soreness:
        detail = ", ".join(x for x in (f"{soreness['nprs']}/10" if soreness.get("nprs") is not None else "",
                                       f"{soreness['duration_hours']:g} h" if soreness.get("duration_hours") else "")
                           if x)
        lines.append("Soreness since last visit: " + ("yes" if soreness["present"] else "none")
                     + (f" ({detail})" if detail else ""))
    return lines
