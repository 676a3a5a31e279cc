"""Read-only reference data for any signed-in user.

These are small, complete lists (30 levels, about 150 muscles, a dozen conditions) that change only with a
migration, so they are returned whole: no pagination, no audit rows (reference data is not patient data).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.auth.guards import SignedIn
from app.db import SessionDep
from app.kit.errors import NotFound, problem_responses
from app.reference import service
from app.reference.schemas import ConditionOut, LevelOut, MuscleOut

router = APIRouter(prefix="/api/v1/reference", tags=["reference"])


@router.get("/levels", response_model=list[LevelOut], operation_id="listLevels",
            summary="Nerve-root levels C1-S5 in anatomical order", responses=problem_responses(401))
def list_levels(session: SessionDep, _: SignedIn) -> list[LevelOut]:
    """All 30 levels, top to bottom, with the ISNCSCI dermatome key point and the paraspinal segments
    needled with each root. A complete list: not paginated."""
    return [LevelOut.model_validate(lv) for lv in service.catalog(session).levels]


LEVEL_PATTERN = r"^([Cc][1-8]|[Tt]([1-9]|1[0-2])|[Ll][1-5]|[Ss][1-5]|[Cc][Nn]5)$"  # the roots, and CN V


@router.get("/muscles", response_model=list[MuscleOut], operation_id="listMuscles",
            summary="Muscles with their supplying roots; ?level= gives a root's myotome plus its paraspinals",
            responses=problem_responses(401, 422))
def list_muscles(
    session: SessionDep, _: SignedIn,
    level: Annotated[str | None, Query(min_length=2, max_length=3, pattern=LEVEL_PATTERN, description=(
        "A root level, e.g. L5: the peripheral muscles it supplies, the cranial-nerve muscles examined with it, "
        "and the paraspinals at its paraspinal_levels"))] = None,
    kind: Annotated[Literal["peripheral", "paraspinal"] | None, Query()] = None,
    body_region: Annotated[str | None, Query(max_length=20, description="e.g. neck, forearm, hip, leg, jaw")] = None,
) -> list[MuscleOut]:
    """Peripheral muscles by name, then the paraspinals top to bottom (with `level`: that root's muscles in
    the same order). A complete list: not paginated. Unknown level or body region: 422."""
    muscles = service.find_muscles(session, level=level, kind=kind, body_region=body_region)
    return [MuscleOut.model_validate(m) for m in muscles]


@router.get("/muscles/{code}", response_model=MuscleOut, operation_id="getMuscle", summary="One muscle",
            responses=problem_responses(401, 404))
def get_muscle(session: SessionDep, _: SignedIn, code: str) -> MuscleOut:
    muscle = service.catalog(session).muscle(code.lower())
    if muscle is None:
        raise NotFound(f"No muscle {code!r}; see /api/v1/reference/muscles")
    return MuscleOut.model_validate(muscle)


@router.get("/conditions", response_model=list[ConditionOut], operation_id="listConditions",
            summary="Conditions the clinic treats, with ICD-10-CA codes and the levels examined first",
            responses=problem_responses(401))
def list_conditions(session: SessionDep, _: SignedIn) -> list[ConditionOut]:
    """Ordered by name. A complete list: not paginated."""
    return [ConditionOut.model_validate(c) for c in service.catalog(session).conditions.values()]
