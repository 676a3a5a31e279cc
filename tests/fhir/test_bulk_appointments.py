"""Bulk Data and the appointment book: Appointments at both levels, Schedules at the system level only, Slots
refused with an OperationOutcome that says where to find them (app.fhir.bulk.NOT_EXPORTED)."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B import get_fhir_model_class

from app.jobs.runner import run_due
from tests.appointments.test_records import _history
from tests.fhir.test_bulk import ASYNC, kick_off


def _outputs(client, admin, app, settings, poll: str) -> dict[str, list[dict]]:
    run_due(app.state.sessionmaker, settings.data_dir)
    manifest = client.get(poll, headers=admin.headers)
    assert manifest.status_code == 200, manifest.text
    out: dict[str, list[dict]] = {}
    for output in manifest.json()["output"]:
        text = client.get(output["url"].replace("http://testserver", ""), headers=admin.headers).text
        out[output["type"]] = [json.loads(line) for line in text.splitlines()]
        for resource in out[output["type"]]:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return out


def test_appointments_and_schedules_in_a_system_export_slots_not(client, staff, app, settings):
    admin, therapist, patient, missed, cancelled, booked = _history(client, staff)
    files = _outputs(client, admin, app, settings, kick_off(client, admin))
    assert {a["id"]: a["status"] for a in files["Appointment"]} == {
        missed["id"]: "noshow", cancelled["id"]: "cancelled", booked["id"]: "booked"}
    assert all(a["participant"][0]["actor"]["reference"] == f"Patient/{patient['id']}" for a in files["Appointment"])
    assert [s["id"] for s in files["Schedule"]] == [str(therapist.id)]
    assert files["Schedule"][0]["actor"][0]["reference"] == f"Practitioner/{therapist.id}"
    assert "Slot" not in files
    only = _outputs(client, admin, app, settings, kick_off(client, admin, _type="Schedule,Appointment"))
    assert set(only) == {"Schedule", "Appointment"}


def test_a_patient_level_export_carries_appointments_not_the_therapists_schedule(client, staff, app, settings):
    admin, _therapist, _patient, missed, cancelled, booked = _history(client, staff)
    files = _outputs(client, admin, app, settings, kick_off(client, admin, "/fhir/Patient/$export"))
    assert sorted(a["id"] for a in files["Appointment"]) == sorted([missed["id"], cancelled["id"], booked["id"]])
    assert "Schedule" not in files and "Slot" not in files and "Patient" in files
    only = _outputs(client, admin, app, settings, kick_off(client, admin, "/fhir/Patient/$export",
                                                              _type="Appointment"))
    assert set(only) == {"Appointment"} and len(only["Appointment"]) == 3


@pytest.mark.parametrize(("path", "types", "says"), [
    ("/fhir/$export", "Slot", "/fhir/Slot?schedule="),
    ("/fhir/Patient/$export", "Slot", "/fhir/Slot?schedule="),
    ("/fhir/Patient/$export", "Appointment,Schedule", "system-level /fhir/$export"),
])
def test_slots_and_patient_level_schedules_are_refused_with_an_operation_outcome(client, staff, path, types, says):
    admin = staff("admin")
    refused = client.get(path, params={"_type": types}, headers={**admin.headers, **ASYNC})
    assert refused.status_code == 422
    outcome = refused.json()
    assert outcome["resourceType"] == "OperationOutcome" and says in json.dumps(outcome)
    get_fhir_model_class("OperationOutcome").model_validate(outcome)
    posted = client.post(path, headers={**admin.headers, **ASYNC}, json={"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueString": t} for t in types.split(",")]})
    assert posted.status_code == 422 and posted.json()["resourceType"] == "OperationOutcome"
