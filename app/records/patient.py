"""A patient's record, read in a fixed number of queries: every clinical row, the staff named in it, and
which treatment belongs to which visit.

This is a read model, not a FHIR detail: the JSON and PDF exports render it as they are, `app.fhir` maps it
to resources. `load` reads the whole record; `load_part` reads only the rows that one FHIR resource type (or one
resource) is made from, so a search or a read does not read the patient's whole chart.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.clinic import service as clinic_service
from app.models.appointment import Appointment
from app.models.clinical import Assessment, ClinicalRevision, Episode
from app.models.patient import Patient
from app.models.treatment import Consent, OutcomeAdministration, Screening, Treatment
from app.models.user import User


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


def load_part(session: Session, patient: Patient, resource_type: str, base: uuid.UUID | None = None
              ) -> PatientRecord:
    """The rows of `patient`'s record that FHIR resources of `resource_type` are made of, with what their
    mapping refers to (a procedure's episode, the visit a treatment belongs to): all of them for a search,
    or only those of the resource whose id is (or starts with) `base` for a read. The patient alone for any
    other type. Only the tables that type comes from are read: a handful of queries, however long the chart."""
    pid = patient.id

    def rows(model: Any, *where: Any, order: Sequence[Any] = ()) -> Sequence[Any]:
        narrow = [model.id == base] if base is not None else []
        return session.scalars(select(model).where(model.patient_id == pid, *narrow, *where).order_by(*order)).all()

    if resource_type == "Condition":
        return PatientRecord(patient, rows(Episode, order=[Episode.created_at]), (), (), (), (), (), (), ())
    if resource_type == "Consent":
        return PatientRecord(patient, (), (), (), rows(Consent, order=[Consent.obtained_at]), (), (), (), ())
    if resource_type == "Provenance":
        revisions = rows(ClinicalRevision, order=[ClinicalRevision.record_type, ClinicalRevision.record_id,
                                                  ClinicalRevision.revision])
        return PatientRecord(patient, (), (), (), (), (), (), revisions, ())
    if resource_type == "Appointment":
        return PatientRecord(patient, (), (), (), (), (), (), (), (),
                             appointments=rows(Appointment, order=[Appointment.start_at, Appointment.id]))
    if resource_type not in ("Encounter", "Observation", "Procedure"):
        return PatientRecord(patient, (), (), (), (), (), (), (), ())
    # A visit: an assessment and the treatments joined to it, or a treatment and the assessment it may join.
    assessments_of = select(Assessment).where(Assessment.patient_id == pid)
    treatments_of = select(Treatment).where(Treatment.patient_id == pid)
    if base is not None:
        linked = select(Treatment.assessment_id).where(Treatment.id == base).scalar_subquery()
        assessments_of = assessments_of.where(or_(Assessment.id == base, Assessment.id == linked))
        treatments_of = treatments_of.where(or_(Treatment.id == base, Treatment.assessment_id == base))
    assessments = session.scalars(assessments_of.order_by(Assessment.assessed_at, Assessment.id)).all()
    treatments = session.scalars(treatments_of.order_by(Treatment.started_at, Treatment.id)).all()
    outcomes = rows(OutcomeAdministration, order=[OutcomeAdministration.administered_at]) \
        if resource_type == "Observation" else []
    episode_ids = {t.episode_id for t in treatments if t.episode_id}
    episodes = session.scalars(select(Episode).where(Episode.id.in_(episode_ids)).order_by(Episode.created_at)
                               ).all() if resource_type == "Procedure" and episode_ids else []
    return PatientRecord(patient, episodes, assessments, treatments, (), (), outcomes, (), (),
                         visits(session, assessments, treatments))
