"""Contact preference and reminder consent come over with the patient list: read from the CSV's columns (and a
FHIR Bundle as IMS Chart writes it), checked on the dry run, each problem naming its row and its column."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.models import Patient
from tests.imports.test_router import count, csv_file, upload

HEADER = ["First Name", "Last Name", "DOB", "Mobile", "Email", "Preferred Contact Method", "OK to contact"]


def contact_list() -> bytes:
    return csv_file([
        HEADER,
        ["Ann", "Lee", "1980-01-31", "416-555-0101", "", "Text", "Yes"],
        ["Bo", "Chan", "1975-02-28", "", "bo@example.com", "E-mail", "n"],
        ["Cy", "Day", "1990-03-03", "", "", "Do not contact", ""],
        ["Dee", "Ng", "1970-04-05", "", "", "", ""],
    ])


def test_contact_preference_and_reminder_consent_are_imported(client, staff, db):
    admin = staff("admin")
    dry = upload(client, admin, contact_list(), dry_run="true")
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["accepted"], report["invalid"], report["ignored_columns"]) == (4, 0, [])
    assert count(db) == 0
    real = upload(client, admin, contact_list())
    assert real.status_code == 201, real.text
    people = {p.given_name: p for p in db.scalars(select(Patient))}
    assert {name: (p.contact_preference, p.reminder_consent) for name, p in people.items()} == {
        "Ann": ("sms", True), "Bo": ("email", False), "Cy": ("none", False), "Dee": (None, False)}
    assert people["Ann"].reminder_consent_at is not None and people["Bo"].reminder_consent_at is None
    shown = client.get(f"/api/v1/patients/{people['Ann'].id}", headers=admin.headers).json()
    assert (shown["contact_preference"], shown["reminder_consent"]) == ("sms", True)


def test_bad_contact_values_name_the_row_and_the_column_and_nothing_is_imported(client, staff, db):
    admin = staff("admin")
    content = csv_file([
        HEADER,
        ["Ann", "Lee", "1980-01-31", "416-555-0101", "", "pigeon", "Yes"],
        ["Bo", "Chan", "1975-02-28", "", "", "SMS", "perhaps"],
        ["Cy", "Day", "1990-03-03", "", "", "email", "yes"],
        ["Dee", "Ng", "1970-04-05", "416-555-0102", "", "phone", "no"],
    ])
    dry = upload(client, admin, content, dry_run="true").json()
    rows = dry["rows"]
    assert [r["status"] for r in rows] == ["invalid", "invalid", "invalid", "accepted"]
    assert [(r["source"], [e["field"] for e in r["errors"]]) for r in rows] == [
        ("line 2", ["contact_preference"]), ("line 3", ["contact_preference", "reminder_consent"]),
        ("line 4", ["contact_preference"]), ("line 5", [])]
    assert rows[0]["errors"][0]["message"] == ("column 'Preferred Contact Method': 'pigeon' is not one of sms, "
                                               "email, phone, none")
    assert "needs the patient's phone" in rows[1]["errors"][0]["message"]
    assert rows[1]["errors"][1]["message"] == "column 'OK to contact': 'perhaps' is not yes or no"
    assert "needs the patient's email" in rows[2]["errors"][0]["message"]
    real = upload(client, admin, content)
    assert real.status_code == 422 and count(db) == 0
    errors = {e["field"]: e["message"] for e in real.json()["errors"]}
    assert errors["rows[0].contact_preference"].startswith("line 2: column 'Preferred Contact Method'")
    assert errors["rows[1].reminder_consent"] == "line 3: column 'OK to contact': 'perhaps' is not yes or no"


def test_a_fhir_patient_from_ims_chart_keeps_its_reminder_settings(client, staff, db):
    admin = staff("admin")
    made = client.post("/api/v1/patients", headers=admin.headers, json={
        "given_name": "Eve", "family_name": "Ro", "birth_date": "1985-06-07", "email": "eve@example.com",
        "phone": "416-555-0199", "contact_preference": "email", "reminder_consent": True})
    assert made.status_code == 201, made.text
    resource = client.get(f"/fhir/Patient/{made.json()['id']}", headers=admin.headers).json()
    resource.pop("id"), resource.pop("identifier")
    resource["name"][0]["given"] = ["Evelyn"]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]}
    done = upload(client, admin, json.dumps(bundle).encode(), name="p.json")
    assert done.status_code == 201, done.text
    evelyn = db.scalar(select(Patient).where(Patient.given_name == "Evelyn"))
    assert (evelyn.contact_preference, evelyn.reminder_consent) == ("email", True)
