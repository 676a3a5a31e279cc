"""Everything about one patient, loaded in a fixed number of queries, as records and as FHIR resources."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.appointments import fhir as appointment_fhir
from app.clinic import service as clinic_service
from app.fhir import exam, mapping
from app.models.appointment import Appointment
from app.models.base import utcnow
from app.models.clinical import Assessment, ClinicalRevision, Episode
from app.models.patient import Patient
from app.models.treatment import Consent, OutcomeAdministration, Screening, Treatment
from app.models.user import User
from app.reference.service import catalog


@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    episodes: Sequence[Episode]
    assessments: Sequence[Assessment]
    treatments: Sequence[Treatment]
    consents: Sequence[Consent]
    screenings: Sequence[Screening]
    outcomes: Sequence[OutcomeAdministration]
    revisions: Sequence[ClinicalRevision]
    staff: Sequence[User]
    # treatment id -> the assessment whose visit (and Encounter) it belongs to; see `visits`.
    visit_of: Mapping[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    # Every appointment, cancelled and missed ones included (issue 14).
    appointments: Sequence[Appointment] = ()


def load(session: Session, patient: Patient) -> PatientRecord:
    pid = patient.id
    episodes = session.scalars(select(Episode).where(Episode.patient_id == pid).order_by(Episode.created_at)).all()
    assessments = session.scalars(select(Assessment).where(Assessment.patient_id == pid)
                                  .order_by(Assessment.assessed_at, Assessment.id)).all()
    treatments = session.scalars(select(Treatment).where(Treatment.patient_id == pid)
                                 .order_by(Treatment.started_at, Treatment.id)).all()
    consents = session.scalars(select(Consent).where(Consent.patient_id == pid).order_by(Consent.obtained_at)).all()
    screenings = session.scalars(select(Screening).where(Screening.patient_id == pid)
                                 .order_by(Screening.screened_at)).all()
    outcomes = session.scalars(select(OutcomeAdministration).where(OutcomeAdministration.patient_id == pid)
                               .order_by(OutcomeAdministration.administered_at)).all()
    revisions = session.scalars(select(ClinicalRevision).where(ClinicalRevision.patient_id == pid)
                                .order_by(ClinicalRevision.record_type, ClinicalRevision.record_id,
                                          ClinicalRevision.revision)).all()
    appointments = session.scalars(select(Appointment).where(Appointment.patient_id == pid)
                                   .order_by(Appointment.start_at, Appointment.id)).all()
    staff_ids = ({a.author_id for a in assessments} | {t.author_id for t in treatments}
                 | {o.recorded_by for o in outcomes} | {c.obtained_by for c in consents}
                 | {c.withdrawn_by for c in consents if c.withdrawn_by} | {s.screened_by for s in screenings}
                 | {r.author_id for r in revisions} | {a.therapist_id for a in appointments})
    staff = session.scalars(select(User).where(or_(User.id.in_(staff_ids)))).all() if staff_ids else []
    return PatientRecord(patient, episodes, assessments, treatments, consents, screenings, outcomes, revisions, staff,
                         visits(session, assessments, treatments), appointments)


def visits(session: Session, assessments: Sequence[Assessment], treatments: Sequence[Treatment]
           ) -> dict[uuid.UUID, uuid.UUID]:
    """One visit, one Encounter: a treatment linked to an assessment of the same patient on the same clinic-local
    day is part of that assessment's visit. The assessments a patient's treatments can link to are that patient's,
    all loaded with the compartment, so this costs at most one query (the clinic's time zone), never one per row."""
    by_id = {a.id: a for a in assessments}
    linked = [(t, by_id[t.assessment_id]) for t in treatments
              if t.assessment_id in by_id and by_id[t.assessment_id].patient_id == t.patient_id]
    if not linked:
        return {}
    zone = ZoneInfo(clinic_service.profile(session).time_zone)
    return {t.id: a.id for t, a in linked
            if t.started_at.astimezone(zone).date() == a.assessed_at.astimezone(zone).date()}


def _assessment_part(a: Assessment) -> mapping.VisitPart:
    return mapping.VisitPart("Gunn segmental assessment", a, a.assessed_at, None)


def _treatment_part(t: Treatment) -> mapping.VisitPart:
    ended = t.content.get("ended_at")
    return mapping.VisitPart("IMS treatment session", t, t.started_at, datetime.fromisoformat(ended) if ended else None)


def fhir_resources(session: Session, record: PatientRecord) -> list[mapping.Resource]:
    cat = catalog(session)
    episodes = {e.id: e for e in record.episodes}
    out: list[mapping.Resource] = [mapping.patient(record.patient)]
    out += [mapping.practitioner(u) for u in record.staff]
    for e in record.episodes:
        out += mapping.conditions(e, cat)
    joined: dict[uuid.UUID, list[Treatment]] = {}
    for t in record.treatments:
        if t.id in record.visit_of:
            joined.setdefault(record.visit_of[t.id], []).append(t)
    for a in record.assessments:
        out.append(mapping.encounter([_assessment_part(a), *map(_treatment_part, joined.get(a.id, []))]))
        out += mapping.finding_observations(a, cat)
        out += exam.exam_observations(a)
    for t in record.treatments:
        visit = record.visit_of.get(t.id)
        if visit is None:  # a visit of its own
            out.append(mapping.encounter([_treatment_part(t)]))
        out.append(mapping.procedure(t, cat, episodes.get(t.episode_id), visit))
        out += mapping.pain_observations(t, visit)
        out += exam.response_observations(t, visit)
    out += [mapping.outcome_observation(o) for o in record.outcomes]
    out += [mapping.consent(x) for x in record.consents]
    out += appointment_fhir.resources(session, record.appointments)
    for r in record.revisions:
        target = mapping.ref("Procedure", r.record_id) if r.record_type == "treatment" else \
            mapping.ref("Encounter", f"{r.record_id}-visit")
        out.append(mapping.provenance(r, target))
    return out


def bundle(resources: list[mapping.Resource], bundle_type: str, base_url: str,
           modes: Sequence[str] | None = None) -> mapping.Resource:
    """`base_url`: this server's absolute FHIR base (e.g. https://clinic.example/fhir): each entry's fullUrl is
    the resource's absolute URL, which a client can GET. `modes`: searchset entries' search.mode."""
    entries: list[mapping.Resource] = []
    for i, r in enumerate(resources):
        entry: mapping.Resource = {"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r}
        if modes is not None:
            entry["search"] = {"mode": modes[i]}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": bundle_type, "timestamp": utcnow().isoformat(), "entry": entries}
