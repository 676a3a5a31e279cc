"""Our records as FHIR R4 resources. Ids are our ids (or derived from them), so they are stable."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.fhir import codes as c
from app.models.clinical import Assessment, ClinicalRevision, Episode
from app.models.enums import EpisodeStatus, RecordStatus, RevisionKind
from app.models.patient import Patient
from app.models.treatment import Consent, OutcomeAdministration, Treatment
from app.models.user import User
from app.outcomes.instruments import INSTRUMENTS
from app.reference.catalog import Catalog

Resource = dict[str, Any]
GENDER = {"female": "female", "male": "male", "intersex": "other", "unknown": "unknown"}


def _ts(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _meta(updated: datetime, version: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"lastUpdated": updated.isoformat()}
    if version is not None:
        meta["versionId"] = str(version)
    return meta


def ref(resource_type: str, rid: Any) -> dict[str, str]:
    return {"reference": f"{resource_type}/{rid}"}


def patient(p: Patient) -> Resource:
    identifiers = [{"system": c.CHART_NUMBER, "value": p.chart_number}]
    if p.health_card_number and (p.health_card_province or "ON") == "ON":
        identifiers.append({"system": c.ON_HEALTH_CARD, "value": p.health_card_number[:10]})
    out: Resource = {"resourceType": "Patient", "id": str(p.id), "meta": _meta(p.updated_at, p.version),
                     "identifier": identifiers, "active": p.active,
                     "name": [{"use": "official", "family": p.family_name, "given": [p.given_name]}],
                     "birthDate": p.birth_date.isoformat()}
    if p.preferred_name:
        out["name"].append({"use": "usual", "given": [p.preferred_name], "family": p.family_name})
    if p.sex_at_birth:
        out["gender"] = GENDER[p.sex_at_birth]
    if telecom := _telecom(p):
        out["telecom"] = telecom
    out["extension"] = [reminder_contact(p)]
    if p.address:
        a = p.address
        out["address"] = [{k: v for k, v in {"line": a.get("lines") or None, "city": a.get("city"),
                                             "state": a.get("province"), "postalCode": a.get("postal_code"),
                                             "country": a.get("country")}.items() if v}]
    if p.emergency_contact:
        ec = p.emergency_contact
        contact: Resource = {"name": {"text": ec["name"]}}
        if ec.get("phone"):
            contact["telecom"] = [{"system": "phone", "value": ec["phone"]}]
        if ec.get("relationship"):
            contact["relationship"] = [{"text": ec["relationship"]}]
        out["contact"] = [contact]
    return out


def _telecom(p: Patient) -> list[Resource]:
    """Phone and e-mail; with a contact preference the preferred channel is ranked 1 and the others 2
    (ContactPoint.rank: lower is more preferred). SMS is its own ContactPoint system in R4, so a patient who
    wants texts gets an `sms` entry for their phone number, ranked first. `none` ranks nothing."""
    preference = p.contact_preference if p.contact_preference in ("sms", "email", "phone") else None
    telecom: list[Resource] = []
    if p.phone and preference == "sms":
        telecom.append({"system": "sms", "value": p.phone})
    if p.phone:
        telecom.append({"system": "phone", "value": p.phone})
    if p.email:
        telecom.append({"system": "email", "value": p.email})
    if preference and any(t["system"] == preference for t in telecom):
        for t in telecom:
            t["rank"] = 1 if t["system"] == preference else 2
    return telecom


def reminder_contact(p: Patient) -> Resource:
    """The reminder settings as one complex extension (codes.REMINDER_CONTACT): `preference` (sms | email |
    phone | none, absent when the clinic has not asked), `consent` (did the patient agree to be contacted;
    false until they say yes) and `consentRecorded` (when the clinic recorded the yes)."""
    parts: list[Resource] = []
    if p.contact_preference:
        parts.append({"url": "preference", "valueCode": p.contact_preference})
    parts.append({"url": "consent", "valueBoolean": bool(p.reminder_consent)})
    if p.reminder_consent and p.reminder_consent_at:
        parts.append({"url": "consentRecorded", "valueDateTime": p.reminder_consent_at.isoformat()})
    return {"url": c.REMINDER_CONTACT, "extension": parts}


def practitioner(u: User) -> Resource:
    out: Resource = {"resourceType": "Practitioner", "id": str(u.id), "meta": _meta(u.updated_at, u.version),
                     "active": u.active, "name": [{"text": u.full_name}]}
    if u.registration_number:
        out["identifier"] = [{"system": c.REGISTRATION, "value": u.registration_number}]
    return out


def conditions(e: Episode, cat: Catalog) -> list[Resource]:
    """One Condition per diagnosis of an episode of care."""
    out = []
    for code in e.conditions:
        cond = cat.condition(code)
        codings = [c.coding(c.CONDITIONS, code, cond.name if cond else code)]
        codings += [c.coding(c.ICD10CA, icd) for icd in (cond.icd10ca if cond else ())]
        resource: Resource = {
            "resourceType": "Condition", "id": f"{e.id}-{code.replace('_', '-')}",
            "meta": _meta(e.updated_at, e.version),
            "clinicalStatus": c.concept("http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "resolved" if e.status == EpisodeStatus.DISCHARGED else "active"),
            "verificationStatus": c.concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
            "category": [c.concept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis")],
            "code": {"coding": codings, "text": cond.name if cond else code},
            "subject": ref("Patient", e.patient_id), "recordedDate": e.created_at.isoformat(),
        }
        if e.side in c.LATERALITY:  # the side of the complaint; the structure is not recorded on an episode
            resource["bodySite"] = [c.body_site(None, e.side, f"{e.side} side")]
        if e.onset_date:
            resource["onsetDateTime"] = e.onset_date.isoformat()
        if e.discharged_on:
            resource["abatementDateTime"] = e.discharged_on.isoformat()
        out.append(resource)
    return out


@dataclass(frozen=True)
class VisitPart:
    """One clinical record seen at a visit: what kind, when it started and (if known) ended."""

    kind: str
    record: Assessment | Treatment
    start: datetime
    end: datetime | None


def encounter(parts: Sequence[VisitPart]) -> Resource:
    """One Encounter per visit. Its id is that of the visit's first record (the assessment when a same-day
    treatment was linked to it), so it is stable across exports; it spans every record of the visit."""
    first = parts[0].record
    live = [p.record.status for p in parts if p.record.status != RecordStatus.DISCARDED]
    ends = [p.end for p in parts if p.end is not None]
    authors = list(dict.fromkeys(p.record.author_id for p in parts))
    kinds = list(dict.fromkeys(p.kind for p in parts))
    start, end = min(p.start for p in parts), max(ends) if ends else None
    return {
        "resourceType": "Encounter", "id": f"{first.id}-visit",
        "meta": _meta(max(p.record.updated_at for p in parts)),
        "status": "entered-in-error" if not live else
        "finished" if all(status == RecordStatus.SIGNED for status in live) else "in-progress",
        "class": c.coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory"),
        "type": [{"text": kind} for kind in kinds], "subject": ref("Patient", first.patient_id),
        "participant": [{"individual": ref("Practitioner", author)} for author in authors],
        "period": {"start": start.isoformat(), **({"end": end.isoformat()} if end else {})},
    }


def _status(record: Assessment | Treatment) -> str:
    return {RecordStatus.SIGNED: "final" if record.revision <= 1 else "amended", RecordStatus.DRAFT: "preliminary",
            RecordStatus.DISCARDED: "entered-in-error"}[RecordStatus(record.status)]


def _site(cat: Catalog, muscle_code: str, side: str) -> Resource:
    muscle = cat.muscle(muscle_code)
    name = muscle.name if muscle else muscle_code
    return c.body_site(c.coding(c.MUSCLES, muscle_code, name), side, f"{name}, {side}")


def finding_observations(a: Assessment, cat: Catalog) -> list[Resource]:
    """One Observation per finding (bodySite = muscle + laterality, root level as a component), grouped per
    level and side by a panel Observation whose hasMember lists them."""
    content = a.content
    base = {"status": _status(a), "subject": ref("Patient", a.patient_id),
            "encounter": ref("Encounter", f"{a.id}-visit"),
            "effectiveDateTime": content["assessed_at"], "performer": [ref("Practitioner", a.author_id)],
            "meta": _meta(a.updated_at, a.version)}
    out: list[Resource] = []
    for i, f in enumerate(content.get("findings", [])):
        level = c.concept(c.LEVELS, f["level"], f["level"])
        members = []
        for kind, code, label in (("muscle_shortening", "muscle-shortening", "Shortened muscle"),
                                  ("tender_points", "tender-point", "Tender point")):
            for j, entry in enumerate(f.get(kind, [])):
                oid = f"{a.id}-f{i}-{code}-{j}"
                components: list[Resource] = [{"code": c.concept(c.GUNN, "root-level", "Nerve-root level"),
                                               "valueCodeableConcept": level}]
                if entry.get("severity") is not None:
                    components.append({"code": c.concept(c.GUNN, "severity", "Severity 0-3"),
                                       "valueInteger": entry["severity"]})
                if kind == "tender_points":
                    components.append({"code": c.concept(c.GUNN, "motor-point", "At motor point"),
                                       "valueBoolean": bool(entry.get("motor_point"))})
                    if entry.get("algometry_kg_cm2") is not None:
                        components.append({"code": c.concept(c.GUNN, "algometry", "Pressure-pain threshold"),
                                           "valueQuantity": {"value": entry["algometry_kg_cm2"], "unit": "kg/cm2"}})
                out.append({"resourceType": "Observation", "id": oid, **base,
                            "category": [c.concept("http://terminology.hl7.org/CodeSystem/observation-category",
                                                   "exam", "Exam")],
                            "code": c.concept(c.GUNN, code, label), "valueBoolean": True,
                            "bodySite": _site(cat, entry["muscle"], "left" if f["side"] == "left" else
                                              "right" if f["side"] == "right" else "bilateral"),
                            "component": components})
                members.append(ref("Observation", oid))
        skin = f.get("skin_changes") or {}
        panel_components = [{"code": c.concept(c.GUNN, name.replace("_", "-"), name.replace("_", " ")),
                             "valueBoolean": bool(skin.get(name))}
                            for name in ("trophedema", "pilomotor", "vasomotor", "sudomotor", "hair_loss",
                                         "dermatomal_hyperalgesia")]
        panel_components += [{"code": c.concept(c.GUNN, "paraspinal-tenderness", "Paraspinal tenderness"),
                              "valueBoolean": bool(f.get("paraspinal_tenderness"))},
                             {"code": c.concept(c.GUNN, "root-level", "Nerve-root level"),
                              "valueCodeableConcept": level}]
        panel: Resource = {"resourceType": "Observation", "id": f"{a.id}-f{i}-panel", **base,
                           "code": c.concept(c.GUNN, "segmental-panel", "Gunn segmental examination"),
                           "bodySite": c.body_site(c.coding(c.LEVELS, f["level"], f"{f['level']} segment"), f["side"],
                                                   f"{f['level']} segment, {f['side']}"),
                           "component": panel_components}
        if members:
            panel["hasMember"] = members
        out.append(panel)
    return out


def pain_observations(t: Treatment, visit: uuid.UUID | None = None) -> list[Resource]:
    """`visit`: the id of the record whose Encounter this session belongs to (itself unless merged)."""
    out = []
    for when, key in (("pre", "pre_pain_nprs"), ("post", "post_pain_nprs")):
        value = t.content.get(key)
        if value is None:
            continue
        out.append({"resourceType": "Observation", "id": f"{t.id}-pain-{when}",
                    "meta": _meta(t.updated_at, t.version),
                    "status": _status(t), "subject": ref("Patient", t.patient_id),
                    "encounter": ref("Encounter", f"{visit or t.id}-visit"),
                    "category": [c.concept("http://terminology.hl7.org/CodeSystem/observation-category",
                                           "survey", "Survey")],
                    "code": c.concept(c.LOINC, c.PAIN_NRS,
                                      "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
                                      text=f"Pain {when}-needling"),
                    "effectiveDateTime": t.content["started_at"], "valueInteger": value})
    return out


def outcome_observation(o: OutcomeAdministration) -> Resource:
    inst = INSTRUMENTS[o.instrument]
    out: Resource = {"resourceType": "Observation", "id": str(o.id), "meta": _meta(o.created_at),
                     "status": "final", "subject": ref("Patient", o.patient_id),
                     "category": [c.concept("http://terminology.hl7.org/CodeSystem/observation-category",
                                            "survey", "Survey")],
                     "code": c.concept(c.INSTRUMENTS, o.instrument, inst.name),
                     "effectiveDateTime": o.administered_at.isoformat(), "valueQuantity": {"value": o.score},
                     "performer": [ref("Practitioner", o.recorded_by)]}
    if o.subscores:
        out["component"] = [{"code": c.concept(c.INSTRUMENTS, f"{o.instrument}-{k}", k),
                             "valueQuantity": {"value": v}} for k, v in o.subscores.items()]
    return out


_PROCEDURE_STATUS = {RecordStatus.SIGNED: "completed", RecordStatus.DRAFT: "in-progress",
                     RecordStatus.DISCARDED: "entered-in-error"}


def procedure(t: Treatment, cat: Catalog, episode: Episode | None, visit: uuid.UUID | None = None) -> Resource:
    content = t.content
    out: Resource = {
        "resourceType": "Procedure", "id": str(t.id), "meta": _meta(t.updated_at, t.version),
        "status": _PROCEDURE_STATUS[RecordStatus(t.status)],
        "code": c.concept(c.IMS, "ims", "Gunn intramuscular stimulation (dry needling)"),
        "subject": ref("Patient", t.patient_id), "encounter": ref("Encounter", f"{visit or t.id}-visit"),
        "performedPeriod": {"start": content["started_at"], **({"end": content["ended_at"]}
                                                               if content.get("ended_at") else {})},
        "performer": [{"actor": ref("Practitioner", t.author_id)}],
    }
    sites = {(n["muscle"], n["side"]) for n in content.get("needles", [])}
    if sites:
        out["bodySite"] = [_site(cat, muscle, side) for muscle, side in sorted(sites)]
    if episode is not None:
        out["reasonReference"] = [ref("Condition", f"{episode.id}-{code.replace('_', '-')}")
                                  for code in episode.conditions]
    if content.get("adverse_events"):
        out["complication"] = [{"text": f"{e['kind'].replace('_', ' ')} ({e['severity']})"}
                               for e in content["adverse_events"]]
    notes = [content[k] for k in ("retest", "after_care", "plan") if content.get(k)]
    if notes:
        out["note"] = [{"text": n} for n in notes]
    return out


def consent(x: Consent) -> Resource:
    scope = "patient-privacy" if x.kind == "data_sharing" else "treatment"
    active = x.withdrawn_at is None
    return {"resourceType": "Consent", "id": str(x.id), "meta": _meta(x.updated_at, x.version),
            "status": "active" if active else "inactive",
            "scope": c.concept("http://terminology.hl7.org/CodeSystem/consentscope", scope),
            "category": [c.concept(c.LOINC, "59284-0", "Patient Consent", text=x.kind.replace("_", " "))],
            "patient": ref("Patient", x.patient_id), "dateTime": x.obtained_at.isoformat(),
            "performer": [ref("Patient", x.patient_id)],
            "policyRule": c.concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN", "opt-in"),
            "provision": {"type": "permit", "period": {"start": x.obtained_at.isoformat(),
                                                       **({"end": _ts(x.withdrawn_at)} if not active else {})}}}


def provenance(r: ClinicalRevision, target: dict[str, str]) -> Resource:
    activity = "sign" if r.kind == RevisionKind.ORIGINAL else "amend"
    out: Resource = {"resourceType": "Provenance", "id": str(r.id), "target": [target],
                     "recorded": r.created_at.isoformat(),
                     "activity": c.concept(c.RECORD_EVENTS, activity, activity),
                     "agent": [{"who": ref("Practitioner", r.author_id)}],
                     "signature": [{"type": [c.coding("urn:iso-astm:E1762-95:2013", "1.2.840.10065.1.12.1.1",
                                                      "Author's Signature")],
                                    "when": r.created_at.isoformat(), "who": ref("Practitioner", r.author_id)}]}
    if r.reason:
        out["reason"] = [{"text": r.reason}]
    return out
