"""The chart is assembled from a fixed handful of queries, however long the patient's history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appointments import queries as appointments
from app.assessments import service as assessments
from app.assessments.summary import summarise
from app.chart.schemas import Chart, LatestAssessment
from app.consents import service as consents
from app.episodes.schemas import EpisodeOut
from app.kit import audit
from app.kit.actor import Actor
from app.models.clinical import Assessment, Episode
from app.models.enums import EpisodeStatus, RecordStatus
from app.models.patient import Patient
from app.models.treatment import Treatment
from app.outcomes import service as outcomes
from app.patients.schemas import PatientOut
from app.reference.service import catalog
from app.screenings import red_flags
from app.screenings import service as screenings
from app.treatments import service as treatments
from app.treatments.safety import SafetyContext

RECENT_TREATMENTS = 10
VISITS = 10


def chart(session: Session, actor: Actor, patient: Patient) -> Chart:
    open_episodes = session.scalars(select(Episode).where(Episode.patient_id == patient.id,
                                                          Episode.status == EpisodeStatus.OPEN)
                                    .order_by(Episode.created_at.desc())).all()
    ctx = SafetyContext.load(session, patient.id)  # consents + screenings + clinic settings
    current = ctx.screenings[0] if ctx.screenings else None
    latest = session.scalar(select(Assessment).where(Assessment.patient_id == patient.id,
                                                     Assessment.status != RecordStatus.DISCARDED)
                            .order_by(Assessment.assessed_at.desc(), Assessment.id.desc()).limit(1))
    recent = session.scalars(select(Treatment).where(Treatment.patient_id == patient.id,
                                                     Treatment.status != RecordStatus.DISCARDED)
                             .order_by(Treatment.started_at.desc(), Treatment.id.desc())
                             .limit(RECENT_TREATMENTS)).all()
    episode_ids = [e.id for e in open_episodes]
    series_pains, series_outcomes = outcomes.load_for_episodes(session, episode_ids)
    cat = catalog(session)
    upcoming, past = appointments.visits(session, patient.id, VISITS)
    audit.record(session, actor, "read", resource_type="PatientChart", resource_id=patient.id, patient_id=patient.id,
                 detail={"treatments": [str(t.id) for t in recent], "assessment": str(latest.id) if latest else None,
                         "appointments": [str(v.id) for v in (*upcoming, *past)]})
    return Chart(
        patient=PatientOut.model_validate(patient),
        open_episodes=[EpisodeOut.model_validate(e) for e in open_episodes],
        active_consents=[consents.to_out(c) for c in ctx.consents if consents.is_active(c)],
        current_screening=screenings.to_out(current) if current else None,
        precautions=screenings.present(current) if current else [],
        red_flags=red_flags.for_patient(session, patient.id),
        latest_assessment=LatestAssessment(
            id=latest.id, episode_id=latest.episode_id, assessed_at=latest.assessed_at, status=latest.status,
            author_id=latest.author_id,
            summary=summarise(cat, assessments.content_of(latest), str(latest.id))) if latest else None,
        recent_treatments=[treatments.to_out(session, t, ctx) for t in recent],
        progress=[outcomes.build_progress(eid, series_pains, series_outcomes) for eid in episode_ids],
        upcoming_visits=upcoming, past_visits=past,
    )
