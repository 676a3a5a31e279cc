"""FHIR Patient carries the reminder settings: the preferred channel is the telecom ranked 1 (ContactPoint.rank),
and preference, consent and when it was recorded are one extension (codes.REMINDER_CONTACT), declared in the
CapabilityStatement and accepted by both independent validators."""

from __future__ import annotations

import json
import subprocess

import pytest
from fhir.resources.R4B import get_fhir_model_class

from app.fhir.codes import REMINDER_CONTACT
from tests.factories import make_patient
from tests.fhir.test_independent_validation import _validator

PHONE, EMAIL = "416-555-0101", "ann@example.com"


def _fhir_patient(client, admin, **contact) -> dict:
    patient = make_patient(client, admin, phone=PHONE, email=EMAIL, **contact)
    response = client.get(f"/fhir/Patient/{patient['id']}", headers=admin.headers)
    assert response.status_code == 200, response.text
    resource = response.json()
    get_fhir_model_class("Patient").model_validate(resource)
    return resource


def _settings(resource: dict) -> dict:
    [extension] = [x for x in resource["extension"] if x["url"] == REMINDER_CONTACT]
    return {part["url"]: next(v for k, v in part.items() if k.startswith("value")) for part in extension["extension"]}


@pytest.mark.parametrize(("contact", "telecom", "expected"), [
    ({"contact_preference": "sms", "reminder_consent": True},
     [("sms", PHONE, 1), ("phone", PHONE, 2), ("email", EMAIL, 2)], {"preference": "sms", "consent": True}),
    ({"contact_preference": "email", "reminder_consent": True},
     [("phone", PHONE, 2), ("email", EMAIL, 1)], {"preference": "email", "consent": True}),
    ({"contact_preference": "phone"}, [("phone", PHONE, 1), ("email", EMAIL, 2)],
     {"preference": "phone", "consent": False}),
    ({"contact_preference": "none"}, [("phone", PHONE, None), ("email", EMAIL, None)],
     {"preference": "none", "consent": False}),
    ({}, [("phone", PHONE, None), ("email", EMAIL, None)], {"consent": False}),
])
def test_the_preferred_channel_is_ranked_first_and_consent_is_an_extension(client, staff, contact, telecom,
                                                                          expected):
    resource = _fhir_patient(client, staff("admin"), **contact)
    assert [(t["system"], t["value"], t.get("rank")) for t in resource["telecom"]] == telecom
    found = _settings(resource)
    recorded = found.pop("consentRecorded", None)
    assert found == expected
    assert (recorded is not None) == expected["consent"]  # when the yes was recorded, only with a yes


def test_capability_statement_documents_the_mapping(client):
    statement = client.get("/fhir/metadata").json()
    [patient] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Patient"]
    assert REMINDER_CONTACT in patient["documentation"] and "ranked 1" in patient["documentation"]


def test_every_variant_passes_both_independent_validators(client, staff, tmp_path):
    command = _validator()
    admin = staff("admin")
    resources = [_fhir_patient(client, admin, contact_preference=pref, reminder_consent=consent)
                 for pref, consent in (("sms", True), ("email", False), ("phone", True), ("none", False))]
    path = tmp_path / "patients.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in resources))
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=120, check=True)
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(reports) == 4 and [i for r in reports for i in r["issues"]] == []
