"""Bringing a clinic's patient list over from other software: dry run first, then all or nothing."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import func, select

from app.models import AuditEvent, Patient
from tests.factories import luhn_complete, make_patient

IMPORT = "/api/v1/imports/patients"
HCN = luhn_complete("128684402")
BAD_HCN = HCN[:-1] + str((int(HCN[-1]) + 1) % 10)


def csv_file(rows: list[list[str]], sep: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=sep).writerows(rows)
    return out.getvalue().encode()


def upload(client, member, content: bytes, name: str = "patients.csv", **params):
    return client.post(IMPORT, params=params, headers=member.headers,
                       files={"file": (name, content, "text/csv" if name.endswith(".csv") else "application/json")})


def count(db) -> int:
    return db.scalar(select(func.count()).select_from(Patient))


HEADER = ["Chart #", "First Name", "LAST_NAME", "Date of Birth", "Sex", "Mobile", "Health Card", "Version Code",
          "Address", "City", "Province", "Postal Code", "E-mail", "Family Doctor", "Favourite Colour"]


def clinic_list() -> bytes:
    return csv_file([
        HEADER,
        ["P-1", "Ann", "Lee", "1980-01-31", "F", "416-555-0101", HCN, "AB", "1 Bay St", "Toronto", "on", "m5j 2x2",
         "ann@example.com", "Dr Osei", "blue"],
        ["", "Bo", "Chan", "02/28/1975", "M", "", "", "", "", "", "", "", "", "", ""],
        ["P-3", "Cy", "Day", "1990-03-03", "x", "", BAD_HCN, "", "", "", "", "", "", "", ""],
        ["", "Dee", "", "03/04/1970", "", "", "", "", "", "", "", "", "not-an-email", "", ""],
        ["P-5", "ann", "LEE", "1980-01-31", "", "", "", "", "", "", "", "", "", "", ""],
        ["", "Margaret", "Lindqvist", "1961-04-17", "", "", "", "", "", "", "", "", "", "", ""],
    ])


def test_a_dry_run_reports_every_row_and_creates_nothing(client, staff, db):
    admin = staff("admin")
    existing = make_patient(client, admin, given_name="Margaret", family_name="Lindqvist", birth_date="1961-04-17")
    response = upload(client, admin, clinic_list(), dry_run="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert count(db) == 1
    assert (report["dry_run"], report["format"], report["total"]) == (True, "csv", 6)
    assert (report["accepted"], report["duplicates"], report["invalid"], report["created"]) == (2, 2, 2, 0)
    assert report["ignored_columns"] == ["Favourite Colour"]
    rows = report["rows"]
    assert [r["status"] for r in rows] == ["accepted", "accepted", "invalid", "invalid", "duplicate", "duplicate"]
    assert [r["source"] for r in rows] == [f"line {n}" for n in range(2, 8)]
    assert rows[1]["birth_date"] == "1975-02-28"
    assert [e["field"] for e in rows[2]["errors"]] == ["health_card_number"]
    assert "check digit" in rows[2]["errors"][0]["message"]
    assert {e["field"] for e in rows[3]["errors"]} == {"birth_date", "family_name", "email"}
    assert "date_order" in next(e["message"] for e in rows[3]["errors"] if e["field"] == "birth_date")
    # Ann Lee again, spelled in other case, later in the same file; Margaret is already on the chart.
    assert rows[4]["duplicate_of"] == {"reason": "name_and_birth_date", "patient_id": None, "row": 0}
    assert rows[5]["duplicate_of"] == {"reason": "name_and_birth_date", "patient_id": existing["id"], "row": None}
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
    assert event.detail["dry_run"] is True and event.detail["sha256"] == report["sha256"]
    assert event.detail["duplicate_patient_ids"] == [existing["id"]] and event.actor_id == admin.id


def test_a_real_run_with_any_invalid_row_imports_nothing(client, staff, db):
    admin = staff("admin")
    response = upload(client, admin, clinic_list())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert "Nothing was imported" in problem["detail"]
    assert {e["field"] for e in problem["errors"]} == {"rows[2].health_card_number", "rows[3].birth_date",
                                                        "rows[3].family_name", "rows[3].email"}
    assert all(e["message"].startswith("line ") for e in problem["errors"])
    assert count(db) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "create",
                                                                        AuditEvent.resource_type == "Patient")) == 0


def test_a_real_run_creates_every_accepted_row_and_skips_patients_already_on_file(client, staff, db):
    admin = staff("admin")
    make_patient(client, admin, chart_number="P-9", given_name="Zed", family_name="Old", birth_date="1950-05-05")
    content = csv_file([
        HEADER,
        ["", "Bo", "Chan", "28/02/1975", "M", "", "", "", "", "", "", "", "", "", ""],
        ["000002", "Ann", "Lee", "1980-01-31", "F", "416-555-0101", HCN, "AB", "1 Bay St", "Toronto", "on",
         "m5j 2x2", "ann@example.com", "Dr Osei", "blue"],
        ["p-9", "Zed", "Older", "1950-05-05", "", "", "", "", "", "", "", "", "", "", ""],
    ], sep=";")
    response = upload(client, admin, content)
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["dry_run"], report["created"], report["duplicates"], report["accepted"]) == (False, 2, 1, 2)
    bo, ann, zed = report["rows"]
    assert (bo["status"], ann["status"], zed["status"]) == ("created", "created", "duplicate")
    assert zed["duplicate_of"]["reason"] == "chart_number"
    # Ann keeps her chart number; Bo's generated one does not take it.
    assert ann["chart_number"] == "000002" and bo["chart_number"] not in ("000002", "P-9")
    assert count(db) == 3

    read = client.get(f"/api/v1/patients/{ann['patient_id']}", headers=admin.headers).json()
    assert (read["given_name"], read["family_name"], read["birth_date"], read["sex_at_birth"]) == (
        "Ann", "Lee", "1980-01-31", "female")
    assert read["health_card_number"] == f"{HCN}AB" and read["health_card_province"] == "ON"
    assert read["address"] == {"lines": ["1 Bay St"], "city": "Toronto", "province": "ON",
                               "postal_code": "M5J 2X2", "country": "CA"}
    assert read["phone"] == "416-555-0101" and read["referring_physician"]["name"] == "Dr Osei"
    assert client.get(f"/api/v1/patients/{bo['patient_id']}", headers=admin.headers).json()["birth_date"] == \
        "1975-02-28"

    # Each new patient is audited and on the changes feed like any other registration.
    created = db.scalars(select(AuditEvent.resource_id).where(AuditEvent.action == "create",
                                                              AuditEvent.resource_type == "Patient")).all()
    assert {bo["patient_id"], ann["patient_id"]} <= set(created)
    feed = client.get("/api/v1/changes", params={"types": "patient"}, headers=admin.headers).json()["items"]
    assert {i["resource_id"] for i in feed if i["change"] == "created"} >= {bo["patient_id"], ann["patient_id"]}
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
    assert event.detail["created"] == 2 and event.detail["filename"] == "patients.csv"

    # Importing the same file again creates nobody.
    again = upload(client, admin, content).json()
    assert (again["created"], again["duplicates"]) == (0, 3) and count(db) == 3


def test_duplicates_can_be_made_to_fail_the_whole_import(client, staff, db):
    admin = staff("admin")
    make_patient(client, admin, given_name="Bo", family_name="Chan", birth_date="1975-02-28")
    content = csv_file([["first_name", "last_name", "dob"], ["Ann", "Lee", "1980-01-31"],
                        ["Bo", "Chan", "1975-02-28"]])
    response = upload(client, admin, content, on_duplicate="fail")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["rows[1]"]
    assert count(db) == 1


def test_ambiguous_dates_import_once_the_order_is_given(client, staff, db):
    admin = staff("admin")
    content = csv_file([["first_name", "last_name", "dob"], ["Dee", "Ray", "03/04/1970"]])
    assert upload(client, admin, content).status_code == 422
    response = upload(client, admin, content, date_order="MDY")
    assert response.status_code == 201, response.text
    assert response.json()["rows"][0]["birth_date"] == "1970-03-04"


def test_windows_1252_files_from_older_software(client, staff):
    admin = staff("admin")
    content = "Prenom;Nom de famille;first name;last name;DOB\n;;Hélène;Bélanger;1970-05-06\n".encode("cp1252")
    report = upload(client, admin, content, dry_run="true").json()
    assert report["rows"][0]["given_name"] == "Hélène" and report["rows"][0]["family_name"] == "Bélanger"


def test_a_fhir_bundle_of_patients(client, staff, db):
    admin = staff("admin")
    source = make_patient(client, admin, chart_number="X-1", health_card_number=HCN, preferred_name="Meg",
                          emergency_contact={"name": "Lars Lindqvist", "relationship": "spouse",
                                             "phone": "416-555-0199"})
    # A Patient as our own FHIR API emits it, moved to another clinic: same shape, new chart number.
    resource = client.get(f"/fhir/Patient/{source['id']}", headers=admin.headers).json()
    resource.pop("id")
    resource["identifier"][0]["value"] = "X-2"
    resource["name"][0]["given"] = ["Margo"]
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": resource},
                        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}},
                        {"resource": {"resourceType": "Patient", "name": [{"family": "Nobirth", "given": ["A"]}]}}]}
    dry = upload(client, admin, json.dumps(bundle).encode(), name="bundle.json", dry_run="true").json()
    assert dry["format"] == "fhir" and dry["ignored_resources"] == ["Observation"]
    assert [r["source"] for r in dry["rows"]] == ["entry[0]", "entry[2]"]
    assert [e["field"] for e in dry["rows"][1]["errors"]] == ["birth_date"]

    bundle["entry"].pop()
    response = upload(client, admin, json.dumps(bundle).encode(), name="bundle.json")
    assert response.status_code == 201, response.text
    new_id = response.json()["rows"][0]["patient_id"]
    got = client.get(f"/api/v1/patients/{new_id}", headers=admin.headers).json()
    for name in ("family_name", "birth_date", "sex_at_birth", "phone", "email", "address", "preferred_name",
                 "health_card_number", "emergency_contact"):
        assert got[name] == source[name], name
    assert (got["chart_number"], got["given_name"]) == ("X-2", "Margo")
    assert count(db) == 2


def test_files_that_cannot_be_read_name_the_file(client, staff, db):
    admin = staff("admin")
    cases = [(b"", "empty.csv"), (b"first_name,last_name\nAnn,Lee\n", "p.csv"),
             (b"first_name,last_name,dob\n", "p.csv"),
             (b"{not json", "p.json"), (b'{"resourceType": "Observation"}', "p.json"),
             (b'{"resourceType": "Bundle", "entry": {}}', "p.json")]
    for content, name in cases:
        response = upload(client, admin, content, name=name)
        assert response.status_code == 422, (name, content, response.text)
        assert [e["field"] for e in response.json()["errors"]] == ["file"]
    assert client.post(IMPORT, headers=admin.headers).status_code == 422  # no file at all
    assert count(db) == 0


def test_a_clinic_sized_file_is_not_held_to_the_json_body_cap(client, staff, settings):
    admin = staff("admin")
    filler = "x" * 1000
    rows = [["first_name", "last_name", "dob", "legacy_notes"]]
    rows += [[f"Given{i}", f"Family{i}", "1970-01-01", filler] for i in range(settings.max_body_bytes // 1000 + 50)]
    content = csv_file(rows)
    assert len(content) > settings.max_body_bytes
    response = upload(client, admin, content, dry_run="true")
    assert response.status_code == 200, response.text[:300]
    assert response.json()["accepted"] == len(rows) - 1
    huge = b"first_name,last_name,dob\n" + b"x" * (settings.max_import_bytes + 1)
    assert upload(client, admin, huge).status_code == 413


def test_only_the_admin_imports(client, staff, db):
    content = csv_file([["first_name", "last_name", "dob"], ["Ann", "Lee", "1980-01-31"]])
    for role in ("therapist", "reception", "auditor"):
        response = upload(client, staff(role), content)
        assert response.status_code == 403, role
    assert count(db) == 0
