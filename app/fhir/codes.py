"""Code systems: LOINC and SNOMED CT where they exist, the project's own URIs for Gunn IMS."""

from __future__ import annotations

from typing import Any

BASE = "https://imschart.org/fhir"
GUNN = f"{BASE}/CodeSystem/gunn-findings"
IMS = f"{BASE}/CodeSystem/ims-procedure"
MUSCLES = f"{BASE}/CodeSystem/muscles"
LEVELS = f"{BASE}/CodeSystem/nerve-root-levels"
CONDITIONS = f"{BASE}/CodeSystem/conditions"
INSTRUMENTS = f"{BASE}/CodeSystem/outcome-instruments"
RECORD_EVENTS = f"{BASE}/CodeSystem/record-events"
CHART_NUMBER = f"{BASE}/NamingSystem/chart-number"
REGISTRATION = f"{BASE}/NamingSystem/college-registration"
ON_HEALTH_CARD = "https://fhir.infoway-inforoute.ca/NamingSystem/ca-on-patient-hcn"
ICD10CA = "https://fhir.infoway-inforoute.ca/CodeSystem/icd10ca"
# Appointment reminders (issue 14): the patient's chosen channel and whether they agreed to be contacted. FHIR R4
# has no core element for either; the channel is also the rank-1 ContactPoint (ContactPoint.rank: 1 = preferred).
REMINDER_CONTACT = f"{BASE}/StructureDefinition/reminder-contact"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
PAIN_NRS = "72514-3"
LATERALITY = {"left": ("7771000", "Left"), "right": ("24028007", "Right"), "bilateral": ("51440002", "Bilateral")}
# Laterality qualifies a body site; it is not a body structure itself. The published pattern we follow is mCODE's
# LateralityQualifier extension on the bodySite CodeableConcept (context: Observation/Procedure/Condition
# .bodySite), valued from SNOMED CT's laterality qualifiers: the muscle stays the coded body site.
LATERALITY_QUALIFIER = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text or display:
        out["text"] = text or display
    return out


def laterality(side: str) -> dict[str, Any]:
    code, display = LATERALITY[side]
    return coding(SNOMED, code, display)


def body_site(site: dict[str, Any] | None, side: str | None, text: str) -> dict[str, Any]:
    """A bodySite CodeableConcept: the structure's coding (if known) qualified by the side (if any)."""
    out: dict[str, Any] = {}
    if side in LATERALITY:
        out["extension"] = [{"url": LATERALITY_QUALIFIER, "valueCodeableConcept": {"coding": [laterality(side)]}}]
    if site:
        out["coding"] = [site]
    out["text"] = text
    return out
