"""The visit pages: the Gunn exam grid, the needling log and signing (issue 15, item 2).

Each page is a shell the server fills with the record as the matching API read returns it (same permission
check, same care rule, same audit row); from then on page script writes through the API's own routes
(POST/PATCH with If-Match, sign, amend), so every rule stays in one place. The one route of its own,
`sign-check`, runs the API's signing checkpoint without signing, so the page can show every refusal before
the click.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from app.access import policy
from app.assessments import service as assessments
from app.assessments.summary import summarise
from app.auth.permissions import Permission
from app.db import SessionDep
from app.episodes import service as episodes
from app.models.patient import Patient
from app.reference.service import catalog
from app.treatments import service as treatments
from app.web.deps import PageSession
from app.web.templates import render

router = APIRouter(prefix="/app", include_in_schema=False)


class SignProblem(BaseModel):
    field: str
    message: str


class SignCheck(BaseModel):
    """What signing this session would refuse right now (empty `problems`: it would be signed)."""

    ready: bool
    problems: list[SignProblem]


def _patient(session: SessionDep, patient_id: uuid.UUID) -> dict[str, Any]:
    patient = session.get(Patient, patient_id)
    assert patient is not None  # a record's patient always exists (foreign key)
    return {"id": str(patient.id), "name": f"{patient.preferred_name or patient.given_name} {patient.family_name}",
            "chart_number": patient.chart_number}


def _levels(session: SessionDep) -> list[str]:
    return [lv.code for lv in catalog(session).levels if lv.ordinal >= 1]  # C1 ... S5


@router.get("/episodes/{episode_id}/exam")
def new_exam(request: Request, session: SessionDep, page: PageSession, episode_id: uuid.UUID,
             appointment: uuid.UUID | None = None) -> Response:
    """An empty grid for a new assessment of this episode; the first change creates the draft (POST)."""
    policy.authorize(session, request, page.actor, Permission.CLINICAL_WRITE)
    episode = episodes.read(session, page.actor, episode_id)
    state = {"record": None, "summary": None, "episode_id": str(episode.id),
             "appointment_id": str(appointment) if appointment else None,
             "patient": _patient(session, episode.patient_id), "levels": _levels(session)}
    return render(request, "exam.html", page=page, state=state, patient=state["patient"], record=None)


@router.get("/assessments/{assessment_id}")
def exam(request: Request, session: SessionDep, page: PageSession, assessment_id: uuid.UUID) -> Response:
    """A draft to carry on charting, or a signed exam read-only with its amendments (GET /api/v1/assessments/{id}
    and its segmental summary)."""
    policy.authorize(session, request, page.actor, Permission.CLINICAL_READ)
    assessment = assessments.read(session, page.actor, assessment_id)
    out = assessments.to_out(session, assessment)
    summary = summarise(catalog(session), assessments.content_of(assessment), str(assessment.id))
    state = {"record": out.model_dump(mode="json"), "summary": summary.model_dump(mode="json"),
             "episode_id": str(assessment.episode_id), "appointment_id": None,
             "patient": _patient(session, assessment.patient_id), "levels": _levels(session),
             "mine": assessment.author_id == page.actor.id}
    return render(request, "exam.html", page=page, state=state, patient=state["patient"], record=out)


@router.get("/assessments/{assessment_id}/needling")
def new_session(request: Request, session: SessionDep, page: PageSession, assessment_id: uuid.UUID) -> Response:
    """A needling log prefilled from the assessment's suggested targets; the first save creates the draft."""
    policy.authorize(session, request, page.actor, Permission.CLINICAL_WRITE)
    assessment = assessments.read(session, page.actor, assessment_id)
    summary = summarise(catalog(session), assessments.content_of(assessment), str(assessment.id))
    state = {"record": None, "targets": [t.model_dump(mode="json") for t in summary.suggested_targets],
             "assessment_id": str(assessment.id), "episode_id": str(assessment.episode_id),
             "appointment_id": str(assessment.appointment_id) if assessment.appointment_id else None,
             "patient": _patient(session, assessment.patient_id)}
    return render(request, "treatment.html", page=page, state=state, patient=state["patient"], record=None)


@router.get("/treatments/{treatment_id}")
def needling(request: Request, session: SessionDep, page: PageSession, treatment_id: uuid.UUID) -> Response:
    """A draft session to carry on, or a signed one read-only with its amendments (GET /api/v1/treatments/{id})."""
    policy.authorize(session, request, page.actor, Permission.CLINICAL_READ)
    treatment = treatments.read(session, page.actor, treatment_id)
    out = treatments.to_out(session, treatment)
    state: dict[str, Any] = {"record": out.model_dump(mode="json"), "targets": [],
             "assessment_id": str(treatment.assessment_id) if treatment.assessment_id else None,
             "episode_id": str(treatment.episode_id), "appointment_id": None,
             "patient": _patient(session, treatment.patient_id), "mine": treatment.author_id == page.actor.id}
    return render(request, "treatment.html", page=page, state=state, patient=state["patient"], record=out)


@router.get("/treatments/{treatment_id}/sign-check", response_model=SignCheck)
def sign_check(request: Request, session: SessionDep, page: PageSession, treatment_id: uuid.UUID) -> SignCheck:
    """The signing checkpoint of POST /api/v1/treatments/{id}/sign, run without signing (audited as a read)."""
    policy.authorize(session, request, page.actor, Permission.CLINICAL_WRITE)
    treatment = treatments.read(session, page.actor, treatment_id, action="sign_check")
    if treatment.status != "draft":
        return SignCheck(ready=False,
                         problems=[SignProblem(field="status", message=f"this session is {treatment.status}")])
    problems = [SignProblem(field=p.field, message=p.message)
                for p in treatments.sign_checkpoint(session, page.actor, treatment)]
    return SignCheck(ready=not problems, problems=problems)
