"""The CapabilityStatement, generated from what the server actually does (app.fhir.search_params.SPEC and the
operations below), so the declaration and the behaviour cannot drift apart."""

from __future__ import annotations

from typing import Any

from app.fhir.codes import REMINDER_CONTACT
from app.fhir.search_params import CONTROL, SPEC, includes, sorts
from app.models.base import utcnow

BULK_DATA = "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"
EXPORT_DEF = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
PATIENT_EXPORT_DEF = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
EVERYTHING_DEF = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
VERSIONED = ("Patient", "Practitioner", "Observation", "Procedure", "Condition", "Consent")
CONTROL_DOCS = {
    "_count": "Page size 0-200 (0: the total only)", "_sort": "One key, '-' for descending",
    "_summary": "count (the total only) or false", "_include": "The patient of each match",
    "_page": "Opaque keyset cursor from a next link", "_format": "json only",
}


def _resource(resource_type: str) -> dict[str, Any]:
    params = [{"name": p.name, "definition": p.definition, "type": p.type, "documentation": p.doc}
              for p in SPEC[resource_type]]
    params += [{"name": name, "type": "number" if name == "_count" else "special" if name == "_page" else "token",
                "documentation": CONTROL_DOCS[name] + (f": {', '.join(sorts(resource_type))}" if name == "_sort"
                                                       else "")}
               for name in CONTROL if name != "_include" or includes(resource_type)]
    out: dict[str, Any] = {
        "type": resource_type, "interaction": [{"code": "read"}, {"code": "search-type"}],
        "versioning": "versioned" if resource_type in VERSIONED else "no-version", "readHistory": False,
        "updateCreate": False, "conditionalCreate": False, "conditionalRead": "not-supported",
        "conditionalUpdate": False, "conditionalDelete": "not-supported",
        "searchParam": params,
        "documentation": "read and search only: no vread or _history (meta.versionId is informative); "
                         "unknown search parameters are ignored and left out of the self link, or refused with "
                         "Prefer: handling=strict" + ("" if resource_type in ("Patient", "Practitioner") else
                                                      "; patient (or subject) is required"),
    }
    if resource_type == "Patient":
        out["documentation"] += (
            ". Reminder contact: the patient's preferred channel is the telecom ranked 1 (the others 2; a patient "
            "who wants texts has an `sms` telecom); the extension " + REMINDER_CONTACT + " holds `preference` "
            "(sms | email | phone | none), `consent` (agreed to be contacted with reminders) and `consentRecorded`")
    if includes(resource_type):
        out["searchInclude"] = list(includes(resource_type))
    if resource_type == "Patient":
        out["operation"] = [{"name": "everything", "definition": EVERYTHING_DEF},
                            {"name": "export", "definition": PATIENT_EXPORT_DEF,
                             "documentation": "Bulk Data kick-off for all patients (GET or POST); Schedule and "
                                              "Slot are refused (outside the Patient compartment)"}]
    return out


def statement(base_url: str, types: tuple[str, ...]) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": utcnow().date().isoformat(),
        "kind": "instance", "instantiates": [BULK_DATA], "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"], "patchFormat": [],
        "software": {"name": "IMS Chart"},
        "implementation": {"description": "IMS Chart FHIR API", "url": base_url},
        "rest": [{
            "mode": "server",
            "documentation": "Group-level export, vread, _history and writes are not supported.",
            "security": {"description": "OAuth2 bearer token from /api/v1/auth/token, or an API key"},
            "resource": [_resource(t) for t in types],
            "operation": [{"name": "export", "definition": EXPORT_DEF,
                           "documentation": "System-level Bulk Data export (GET or POST kick-off); Slot is "
                                             "refused (computed per request: search /fhir/Slot for a window)"}],
        }],
    }
