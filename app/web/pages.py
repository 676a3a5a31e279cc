"""Today and the patient chart: each page calls the service the matching API route calls, with the same
permission check and the same audit rows (`views.sheets` audits the day sheet, `chart.service.chart` the
chart read, `patients.service.read` a demographics read)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.access import policy
from app.appointments import views
from app.auth.permissions import Permission
from app.chart import service as chart_service
from app.clinic import service as clinic
from app.db import SessionDep
from app.kit import audit
from app.models.clinical import Episode
from app.models.enums import EpisodeStatus
from app.models.patient import Patient
from app.patients import service as patients
from app.web import alerts, pictures
from app.web.deps import PageSession
from app.web.templates import render

router = APIRouter(prefix="/app", include_in_schema=False)
OPEN_EPISODES = 20


@router.get("")
def today(request: Request, session: SessionDep, page: PageSession) -> Response:
    """The day list for the signed-in therapist (everyone's for the front desk and admins) and, for those
    who may read clinical records, the open episodes of the patients in their care."""
    actor = page.actor
    day = clinic.today(session)
    sheet = None
    if actor.can(Permission.APPOINTMENTS_READ):
        policy.authorize(session, request, actor, Permission.APPOINTMENTS_READ)
        [sheet] = views.sheets(session, actor, day, 1, actor.id if actor.role == "therapist" else None)
    ids = {a.patient_id for t in sheet.therapists for a in t.appointments} if sheet else set()
    episodes: list[tuple[Episode, Patient]] = []
    if actor.can(Permission.CLINICAL_READ):
        stmt = select(Episode, Patient).join(Patient, Patient.id == Episode.patient_id) \
            .where(Episode.status == EpisodeStatus.OPEN)
        care = policy.patients_in_care(actor, Episode.patient_id)
        if care is not None:
            stmt = stmt.where(care)
        episodes = [(e, p) for e, p in session.execute(
            stmt.order_by(Episode.updated_at.desc(), Episode.id).limit(OPEN_EPISODES)).all()]
        audit.record(session, actor, "search", resource_type="Episode",
                     detail={"view": "today", "status": EpisodeStatus.OPEN.value,
                             "result_ids": [str(e.id) for e, _ in episodes]})
    names = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))} if ids else {}
    if names:  # the day list shows who is coming: a demographics read of each patient on it
        audit.record(session, actor, "search", resource_type="Patient",
                     detail={"view": "today", "result_ids": sorted(str(i) for i in names)})
    flags = alerts.for_patients(session, actor, ids | {p.id for _, p in episodes}) \
        if actor.can(Permission.CLINICAL_READ) else {}  # the front desk sees no clinical alert
    return render(request, "today.html", page=page, day=day, sheet=sheet, patients=names, episodes=episodes,
                  alerts=flags)


@router.get("/patients/{patient_id}")
def patient_chart(request: Request, session: SessionDep, page: PageSession, patient_id: uuid.UUID) -> Response:
    """The whole chart for those who may read clinical records (GET /api/v1/patients/{id}/chart, care rule
    included); demographics only for the front desk (GET /api/v1/patients/{id})."""
    actor = page.actor
    if actor.can(Permission.CLINICAL_READ):
        policy.authorize(session, request, actor, Permission.CLINICAL_READ)  # 403 (audited) outside the care team
        record = patients.get(session, patient_id)
        chart = chart_service.chart(session, actor, record)
        return render(request, "chart.html", page=page, chart=chart, patient=chart.patient,
                      segmental_map=pictures.segmental_map(session, chart, record),
                      progress=pictures.progress_charts(session, chart, record),
                      may_export=actor.can(Permission.PATIENT_EXPORT))
    policy.authorize(session, request, actor, Permission.PATIENTS_READ)
    patient = patients.read(session, actor, patient_id)
    return render(request, "chart.html", page=page, chart=None, patient=patient)
