"""FHIR Observations for the Gunn exam detail (neuro screen, neural tension, spondylosis, DN4, trophic signs,
skin temperature) and for a session's retests and reported soreness. Codes are the project's own
(`codes.GUNN`); laterality is SNOMED CT as elsewhere. Ids derive from the record's id, so they are stable."""

from __future__ import annotations

import uuid
from typing import Any

from app.fhir import codes as c
from app.models.clinical import Assessment
from app.models.enums import RecordStatus
from app.models.treatment import Treatment

Resource = dict[str, Any]
EXAM = c.concept("http://terminology.hl7.org/CodeSystem/observation-category", "exam", "Exam")
SURVEY = c.concept("http://terminology.hl7.org/CodeSystem/observation-category", "survey", "Survey")
STATUS = {RecordStatus.DRAFT: "preliminary", RecordStatus.DISCARDED: "entered-in-error"}


def _status(record: Assessment | Treatment) -> str:
    if record.status == RecordStatus.SIGNED:
        return "final" if record.revision <= 1 else "amended"
    return STATUS[RecordStatus(record.status)]


def _component(code: str, label: str, value: Any) -> Resource:
    concept = c.concept(c.GUNN, code, label)
    if isinstance(value, bool):
        return {"code": concept, "valueBoolean": value}
    if isinstance(value, int):
        return {"code": concept, "valueInteger": value}
    if isinstance(value, float):
        return {"code": concept, "valueQuantity": {"value": value}}
    return {"code": concept, "valueCodeableConcept": c.concept(c.GUNN, str(value), str(value).replace("_", " "))}


def _components(entry: dict[str, Any], names: tuple[str, ...]) -> list[Resource]:
    return [_component(name.replace("_", "-"), name.replace("_", " "), entry[name])
            for name in names if entry.get(name) is not None]


def _side(side: str, text: str) -> Resource:
    return {"coding": [c.laterality(side)], "text": text}


def exam_observations(a: Assessment) -> list[Resource]:
    content = a.content
    base = {"status": _status(a), "subject": {"reference": f"Patient/{a.patient_id}"},
            "encounter": {"reference": f"Encounter/{a.id}-visit"}, "effectiveDateTime": content["assessed_at"],
            "performer": [{"reference": f"Practitioner/{a.author_id}"}], "category": [EXAM]}
    out: list[Resource] = []

    def add(oid: str, code: str, label: str, **fields: Any) -> None:
        out.append({"resourceType": "Observation", "id": f"{a.id}-{oid}", **base,
                    "code": c.concept(c.GUNN, code, label), **fields})

    for i, s in enumerate(content.get("neuro_screen") or []):
        add(f"neuro-{i}", "neuro-screen", "Neurological screen of a root level",
            bodySite=_side(s["side"], f"{s['level']} {s['side']}"),
            component=[_component("root-level", "Nerve-root level", s["level"]),
                       *_components(s, ("reflex", "reflex_name", "strength_mrc", "strength_muscle", "light_touch",
                                        "pin_prick"))])
    for i, t in enumerate(content.get("neural_tension") or []):
        add(f"tension-{i}", f"neural-tension-{t['test'].replace('_', '-')}",
            f"Neural tension test: {t['test'].replace('_', ' ')}", bodySite=_side(t["side"], t["side"]),
            valueCodeableConcept=c.concept(c.GUNN, t["result"], t["result"]),
            component=_components(t, ("angle_deg", "symptoms_reproduced", "structural_differentiation")))
    for i, s in enumerate(content.get("spondylosis") or []):
        add(f"spondylosis-{i}", "spondylosis", "Spondylosis of a motion segment",
            bodySite=_side(s["side"], f"{s['segment']} {s['side']}"),
            method={"text": s["source"] + (f" ({s['modality']})" if s.get("modality") else "")},
            component=[_component("segment", "Motion segment", s["segment"]),
                       *_components(s, ("osteophytes", "disc_narrowing", "foraminal_stenosis"))])
    for i, s in enumerate(content.get("trophic_signs") or []):
        site = " ".join(x for x in (s.get("dermatome"), s.get("region"), s["side"]) if x)
        add(f"trophic-{i}", s["sign"].replace("_", "-"), s["sign"].replace("_", " "), valueBoolean=True,
            bodySite=_side(s["side"], site),
            component=_components(s, ("dermatome", "matchstick_test", "peau_d_orange")))
    for i, s in enumerate(content.get("skin_temperature") or []):
        site = " ".join(x for x in (s.get("dermatome"), s.get("region"), s["side"]) if x)
        add(f"skin-temperature-{i}", "skin-temperature", "Skin temperature",
            bodySite=_side(s["side"], site), valueCodeableConcept=c.concept(c.GUNN, s["finding"], s["finding"]),
            component=_components(s, ("dermatome", "difference_c", "method")))
    dn4 = content.get("neuropathic_screen")
    if dn4:
        add("dn4", "dn4", "DN4 neuropathic pain questionnaire (score 0-10)", category=[SURVEY],
            valueInteger=dn4["score"],
            interpretation=[c.concept("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                      "POS" if dn4["positive"] else "NEG",
                                      "Positive" if dn4["positive"] else "Negative")])
    return out


def response_observations(t: Treatment, visit: uuid.UUID | None = None) -> list[Resource]:
    content = t.content
    base = {"status": _status(t), "subject": {"reference": f"Patient/{t.patient_id}"},
            "encounter": {"reference": f"Encounter/{visit or t.id}-visit"},
            "effectiveDateTime": content["started_at"], "performer": [{"reference": f"Practitioner/{t.author_id}"}]}
    out: list[Resource] = []
    for i, r in enumerate(content.get("muscle_retests") or []):
        out.append({"resourceType": "Observation", "id": f"{t.id}-retest-{i}", **base, "category": [EXAM],
                    "code": c.concept(c.GUNN, "muscle-retest", "Muscle retest before and after needling"),
                    "bodySite": {"coding": [c.coding(c.MUSCLES, r["muscle"]), c.laterality(r["side"])],
                                 "text": f"{r['side']} {r['muscle'].replace('_', ' ')}"},
                    "component": _components(r, ("movement", "rom_before_deg", "rom_after_deg", "tenderness_before",
                                                 "tenderness_after", "algometry_before_kg_cm2",
                                                 "algometry_after_kg_cm2"))})
    soreness = content.get("soreness_since_last_visit")
    if soreness:
        out.append({"resourceType": "Observation", "id": f"{t.id}-soreness", **base, "category": [SURVEY],
                    "code": c.concept(c.GUNN, "post-needling-soreness", "Soreness since the last IMS session"),
                    "valueBoolean": soreness["present"],
                    "component": _components(soreness, ("nprs", "duration_hours", "location")),
                    **({"derivedFrom": [{"reference": f"Procedure/{soreness['treatment_id']}"}]}
                       if soreness.get("treatment_id") else {})})
    return out
