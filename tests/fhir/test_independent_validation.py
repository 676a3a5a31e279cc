"""Every resource type we emit passes two validators that share no code with our mapping, with fhir.resources or
with each other: @medplum/core's validateResource against the published R4 StructureDefinitions, and the `fhir`
package (FHIR.js), run in Node (.ci/fhir-validator, installed by .ci/run). Outside CI the test is skipped with a
notice when Node or the packages are missing; in CI that is a failure."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.jobs.runner import run_due
from tests.appointments.helpers import INITIAL, book, set_hours, step
from tests.fhir.test_fhir import seeded  # noqa: F401  (fixture)
from tests.treatments.helpers import consent

VALIDATOR = Path(__file__).resolve().parents[2] / ".ci" / "fhir-validator"
# Terminology warnings we accept on purpose: FHIR.js ships no expansion of these code systems, so on bindings
# that are example, preferred or extensible it reports every code as "not found in value set". Each system is
# the right one for its element; anything else (another system, another kind of warning) fails the test.
INTENDED_TERMINOLOGY = {
    "http://loinc.org": "pain scores and the consent category are LOINC (external, not shipped with FHIR.js)",
    "https://fhir.infoway-inforoute.ca/CodeSystem/icd10ca": "diagnoses are also coded in ICD-10-CA",
    "http://terminology.hl7.org/CodeSystem/v3-ActCode": "Encounter.class AMB and Consent OPTIN (extensible)",
    **{f"https://imschart.org/fhir/CodeSystem/{name}": "our own code system, published with the API"
       for name in ("conditions", "gunn-findings", "ims-procedure", "muscles", "nerve-root-levels",
                    "outcome-instruments", "record-events")},
}
_TERMINOLOGY = re.compile(r'^Code "[^"]*" \((?P<system>[^)]*)\) not found in value set$')


def _validator() -> list[str]:
    node = shutil.which("node")
    installed = all((VALIDATOR / "node_modules" / name).is_dir() for name in ("@medplum/core", "fhir"))
    missing = None if node and installed else \
        "node or .ci/fhir-validator/node_modules is missing (run: cd .ci/fhir-validator && npm ci)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"independent FHIR validation is required in CI: {missing}")
        pytest.skip(f"independent FHIR validation skipped: {missing}")
    return [node, str(VALIDATOR / "validate.mjs")]  # type: ignore[list-item]


def _ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(microsecond=0).isoformat()


def _appointment_book(client, admin, therapist, patient) -> dict[str, dict]:
    """The patient's visits in every state the record keeps, the therapist's schedule with an exception, and the
    patient's reminder settings (telecom rank and the reminder-contact extension)."""
    pid = patient["id"]
    match = {**admin.headers, "If-Match": f'W/"{patient["version"]}"'}
    changed = client.patch(f"/api/v1/patients/{pid}", headers=match,
                           json={"phone": "416-555-0101", "email": "ann@example.com", "contact_preference": "sms",
                                 "reminder_consent": True})
    assert changed.status_code == 200, changed.text
    set_hours(client, admin, therapist)
    exception = {"on_date": "2027-03-22", "kind": "time_off", "start": "12:00", "end": "15:30"}
    assert client.post(f"/api/v1/therapists/{therapist.id}/schedule/exceptions", json=exception,
                       headers=admin.headers).status_code == 201
    completed = book(client, admin, pid, therapist, _ago(50), override_hours=True, front_desk_notes="Parking pass")
    completed = step(client, admin, step(client, admin, completed, "arrive"), "complete")
    missed = step(client, admin, book(client, admin, pid, therapist, _ago(30), override_hours=True), "no-show")
    cancelled = book(client, admin, pid, therapist, "2027-03-08T10:00:00-05:00", type_id=INITIAL)
    cancelled = step(client, admin, cancelled, "cancel", json={"reason": "Flu", "cancelled_by": "patient"})
    booked = book(client, admin, pid, therapist, "2027-03-15T10:00:00-04:00")
    return {"completed": completed, "no_show": missed, "cancelled": cancelled, "booked": booked}


def _emitted(client, staff, app, settings, seeded) -> list[dict]:  # noqa: F811
    therapist, patient, *_ = seeded
    h, pid = therapist.headers, patient["id"]
    admin = staff("admin")
    sharing = consent(client, therapist, pid, kind="data_sharing", risks_discussed=[])
    client.post(f"/api/v1/patients/{pid}/consents/{sharing['id']}/withdraw", headers=h, json={"reason": "declined"})
    visits = _appointment_book(client, admin, therapist, client.get(f"/api/v1/patients/{pid}", headers=h).json())
    out: list[dict] = [client.get("/fhir/metadata").json()]
    everything = client.get(f"/fhir/Patient/{pid}/$everything", headers=h).json()
    out.append(everything)
    resources = [e["resource"] for e in everything["entry"]]
    out += [client.get(f"/fhir/{r['resourceType']}/{r['id']}", headers=h).json() for r in resources]
    for rtype in sorted({r["resourceType"] for r in resources}):
        params = {"_id": pid} if rtype == "Patient" else {"_count": "5"} if rtype == "Practitioner" else \
            {"patient": pid, "_include": f"{rtype}:patient", "_count": "5"}
        out.append(client.get(f"/fhir/{rtype}", params=params, headers=h).json())
    out.append(client.get("/fhir/Patient", params={"_summary": "count"}, headers=h).json())
    # Scheduling: the therapist's Schedule, and a day of its Slots (free ones and the busy one of the booked visit).
    out.append(client.get("/fhir/Schedule", headers=h).json())
    out.append(client.get(f"/fhir/Schedule/{therapist.id}", headers=h).json())
    slots = client.get("/fhir/Slot", params=[("schedule", f"Schedule/{therapist.id}"),
                                             ("start", "ge2027-03-15T09:00:00-04:00"),
                                             ("start", "lt2027-03-15T12:00:00-04:00")], headers=h).json()
    out.append(slots)
    out += [client.get(f"/fhir/Slot/{e['resource']['id']}", headers=h).json() for e in slots["entry"][:2]]
    out.append(client.get(f"/fhir/Slot/{therapist.id}-20270315T1400Z", headers=h).json())  # the booked visit: busy
    statuses = {r["status"] for r in out if r.get("resourceType") == "Appointment"}
    assert statuses == {"fulfilled", "noshow", "cancelled", "booked"}, (statuses, list(visits))
    assert {r["status"] for r in out if r.get("resourceType") == "Slot"} == {"free", "busy"}
    out.append(client.get("/fhir/Patient", params={"nonsense": "1"}, headers={**h, "Prefer": "handling=strict"}).json())
    out.append(client.get(f"/api/v1/patients/{pid}/export", params={"format": "fhir"}, headers=h).json())
    kick = client.get("/fhir/$export", headers={**admin.headers, "Prefer": "respond-async"})
    run_due(app.state.sessionmaker, settings.data_dir)
    manifest = client.get(kick.headers["content-location"].replace("http://testserver", ""), headers=admin.headers)
    for output in manifest.json()["output"]:
        lines = client.get(output["url"].replace("http://testserver", ""), headers=admin.headers).text
        out += [json.loads(line) for line in lines.splitlines()]
    return out


def test_every_emitted_resource_passes_two_independent_validators(client, staff, app, settings, seeded,  # noqa: F811
                                                                 tmp_path):
    command = _validator()
    resources = _emitted(client, staff, app, settings, seeded)
    kinds = {r["resourceType"] for r in resources}
    assert {"Patient", "Practitioner", "Encounter", "Condition", "Observation", "Procedure", "Consent", "Provenance",
            "Appointment", "Schedule", "Slot", "Bundle", "CapabilityStatement", "OperationOutcome"} <= kinds
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    assert [(t["system"], t.get("rank")) for t in patient["telecom"]] == [("sms", 1), ("phone", 2), ("email", 2)]
    path = tmp_path / "emitted.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in resources))
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(reports) == len(resources) > 50
    errors = [(r["resourceType"], r.get("id"), i) for r in reports for i in r["issues"]
              if i["severity"] in ("error", "fatal")]
    assert errors == []
    warnings = [(r["resourceType"], i) for r in reports for i in r["issues"] if i["severity"] == "warning"]
    unexpected = [(rtype, i["validator"], i["text"]) for rtype, i in warnings
                  if not ((found := _TERMINOLOGY.match(i["text"])) and found["system"] in INTENDED_TERMINOLOGY)]
    assert unexpected == []


def test_the_validator_is_not_a_rubber_stamp(tmp_path):
    """It must be able to fail: each validator reports a structurally broken resource."""
    command = _validator()
    path = tmp_path / "bad.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in (
        {"resourceType": "Observation", "status": "final", "valueBoolean": "yes"},  # no code; a string as boolean
        {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "bodySite": {"coding": "Left"}})))
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=120, check=True)
    for report in (json.loads(line) for line in done.stdout.splitlines()):
        assert {i["validator"] for i in report["issues"] if i["severity"] == "error"} == {"medplum", "fhir.js"}
