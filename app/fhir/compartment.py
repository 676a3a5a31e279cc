"""Everything about one patient, loaded in a fixed number of queries, as records and as FHIR resources."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.fhir import mapping
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
    staff_ids = ({a.author_id for a in assessments} | {t.author_id for t in treatments}
                 | {o.recorded_by for o in outcomes})
    staff = session.scalars(select(User).where(or_(User.id.in_(staff_ids)))).all() if staff_ids else []
    return PatientRecord(patient, episodes, assessments, treatments, consents, screenings, outcomes, revisions, staff)


def fhir_resources(session: Session, record: PatientRecord) -> list[mapping.Resource]:
    cat = catalog(session)
    episodes = {e.id: e for e in record.episodes}
    out: list[mapping.Resource] = [mapping.patient(record.patient)]
    out += [mapping.practitioner(u) for u in record.staff]
    for e in record.episodes:
        out += mapping.conditions(e, cat)
    for a in record.assessments:
        out.append(mapping.encounter("Gunn segmental assessment", a, a.assessed_at, None))
        out += mapping.finding_observations(a, cat)
    for t in record.treatments:
        ended = t.content.get("ended_at")
        out.append(mapping.encounter("IMS treatment session", t, t.started_at,
                                     datetime.fromisoformat(ended) if ended else None))
        out.append(mapping.procedure(t, cat, episodes.get(t.episode_id)))
        out += mapping.pain_observations(t)
    out += [mapping.outcome_observation(o) for o in record.outcomes]
    out += [mapping.consent(x) for x in record.consents]
    for r in record.revisions:
        target = mapping.ref("Procedure", r.record_id) if r.record_type == "treatment" else \
            mapping.ref("Encounter", f"{r.record_id}-visit")
        out.append(mapping.provenance(r, target))
    return out


def bundle(resources: list[mapping.Resource], bundle_type: str = "collection") -> mapping.Resource:
    from app.models.base import utcnow

    return {"resourceType": "Bundle", "type": bundle_type, "timestamp": utcnow().isoformat(),
            "entry": [{"fullUrl": f"urn:imschart:{r['resourceType']}/{r['id']}", "resource": r} for r in resources]}
