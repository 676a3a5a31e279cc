"""A patient's record (`app.records.patient`) as FHIR resources, and resources as a Bundle."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.appointments import fhir as appointment_fhir
from app.fhir import exam, mapping
from app.models.base import utcnow
from app.models.clinical import Assessment
from app.models.treatment import Treatment
from app.records.patient import PatientRecord
from app.reference.service import catalog


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
