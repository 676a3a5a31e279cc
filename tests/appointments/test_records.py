"""Appointments in the record: FHIR Appointment, the patient export, the whole-clinic archive round trip."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fhir.resources.R4B import get_fhir_model_class
from pypdf import PdfReader

from tests.appointments.helpers import INITIAL, book, set_hours, step
from tests.assessments.helpers import open_episode
from tests.exports.test_archive import _cli, _contents
from tests.factories import join_care_team, make_patient
from tests.treatments.helpers import consent, screen, session_body


def _ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(microsecond=0).isoformat()


def _history(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    open_episode(client, therapist, patient["id"])  # in the therapist's care: they may export it
    missed = book(client, admin, patient["id"], therapist, _ago(30), override_hours=True)
    step(client, admin, missed, "no-show")
    cancelled = book(client, admin, patient["id"], therapist, "2027-03-08T10:00:00-05:00", type_id=INITIAL,
                     front_desk_notes="Wheelchair access")
    step(client, admin, cancelled, "cancel", json={"reason": "Flu", "cancelled_by": "patient"})
    booked = book(client, admin, patient["id"], therapist, "2027-03-15T10:00:00-04:00")
    exception = {"on_date": "2027-03-22", "kind": "time_off", "start": "12:00", "end": "15:30"}
    assert client.post(f"/api/v1/therapists/{therapist.id}/schedule/exceptions", json=exception,
                       headers=admin.headers).status_code == 201
    return admin, therapist, patient, missed, cancelled, booked


def test_fhir_appointments_validate_and_keep_no_shows_and_cancellations(client, staff, db):
    _admin, therapist, patient, missed, cancelled, booked = _history(client, staff)
    search = client.get("/fhir/Appointment", params={"patient": patient["id"]}, headers=therapist.headers)
    assert search.status_code == 200 and search.json()["total"] == 3
    found = {e["resource"]["id"]: e["resource"] for e in search.json()["entry"]}
    for resource in found.values():
        get_fhir_model_class("Appointment").model_validate(resource)
    assert found[missed["id"]]["status"] == "noshow"
    assert found[cancelled["id"]]["status"] == "cancelled"
    assert "Flu" in found[cancelled["id"]]["cancelationReason"]["text"]
    assert found[booked["id"]]["participant"][1]["actor"]["reference"] == f"Practitioner/{therapist.id}"
    read = client.get(f"/fhir/Appointment/{booked['id']}", headers=therapist.headers)
    assert read.status_code == 200 and read.json()["start"] == "2027-03-15T14:00:00+00:00"
    assert client.get("/fhir/Appointment/00000000-0000-0000-0000-000000000000",
                      headers=therapist.headers).status_code == 404
    assert client.get(f"/fhir/Appointment/{booked['id']}", headers=staff("reception").headers).status_code == 403


def test_the_patient_export_lists_every_appointment(client, staff):
    _admin, therapist, patient, missed, cancelled, booked = _history(client, staff)
    body = client.get(f"/api/v1/patients/{patient['id']}/export", headers=therapist.headers).json()
    assert [(a["id"], a["status"]) for a in body["appointments"]] == [
        (missed["id"], "no_show"), (cancelled["id"], "cancelled"), (booked["id"], "booked")]


def test_the_printed_chart_lists_every_visit_missed_and_cancelled_ones_too(client, staff):
    _admin, therapist, patient, _missed, _cancelled, _booked = _history(client, staff)
    pdf = client.get(f"/api/v1/patients/{patient['id']}/export", params={"format": "pdf"}, headers=therapist.headers)
    assert pdf.status_code == 200, pdf.text
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.content)).pages)
    visits = text[text.index("Visits Start Length Therapist Status"):text.index("Outcome measures")]
    rows = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T) (\d+) min (.+?) \(Reg\. R\d+\) (no show|cancelled|booked)",
                      visits)
    assert [(start, minutes, status) for start, minutes, _, status in rows][1:] == [
        ("2027-03-08 10:00 EST", "60", "cancelled"), ("2027-03-15 10:00 EDT", "30", "booked")]
    assert rows[0][3] == "no show" and "(recorded " in visits  # the missed visit stays on the record
    assert "by patient: Flu" in visits and all(name == rows[0][2] for _, _, name, _ in rows)  # a name, not an id


def test_the_archive_round_trips_the_appointment_book(client, staff, db_url, template_db, tmp_path: Path,
                                                      monkeypatch):
    _history(client, staff)
    first = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    archive = next((tmp_path / "a").glob("*.zip"))
    with zipfile.ZipFile(archive) as z:
        assert len(z.read("appointments.ndjson").splitlines()) == 3
        assert b'"12:00:00"' in z.read("schedule_exceptions.ndjson")
        assert len(z.read("appointment_types.ndjson").splitlines()) == 2
    empty = template_db.empty()
    try:
        restored = _cli(monkeypatch, empty, tmp_path, "import-archive", str(archive))
        assert restored.exit_code == 0, restored.output
        again = _cli(monkeypatch, empty, tmp_path, "export", "--out", str(tmp_path / "b"))
        assert again.exit_code == 0
        assert _contents(archive) == _contents(next((tmp_path / "b").glob("*.zip")))
    finally:
        template_db.drop(empty)


def test_fhir_schedules_and_free_slots_for_scheduling_clients(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)  # the visit's therapist treats
    taken = book(client, admin, patient["id"], therapist, "2027-03-15T09:00:00-04:00")
    schedules = client.get("/fhir/Schedule", headers=therapist.headers).json()
    assert [e["resource"]["id"] for e in schedules["entry"]] == [str(therapist.id)]
    for entry in schedules["entry"]:
        get_fhir_model_class("Schedule").model_validate(entry["resource"])
    assert client.get(f"/fhir/Schedule/{therapist.id}", headers=therapist.headers).status_code == 200
    slots = client.get("/fhir/Slot", params=[("schedule", f"Schedule/{therapist.id}"),
                                             ("start", "ge2027-03-15T09:00:00-04:00"),
                                             ("start", "lt2027-03-15T10:00:00-04:00")], headers=therapist.headers)
    assert slots.status_code == 200, slots.text
    found = [e["resource"] for e in slots.json()["entry"]]
    for resource in found:
        get_fhir_model_class("Slot").model_validate(resource)
    # 09:00 is booked (09:00-09:30); slots start every 15 minutes within the window
    assert [s["start"] for s in found] == ["2027-03-15T09:30:00-04:00", "2027-03-15T09:45:00-04:00"]
    busy = client.get(f"/fhir/Slot/{therapist.id}-20270315T1300Z", headers=therapist.headers).json()
    assert busy["status"] == "busy" and taken["id"]
    free = client.get(f"/fhir/Slot/{found[0]['id']}", headers=therapist.headers).json()
    assert free["status"] == "free"
    assert client.get(f"/fhir/Slot/{therapist.id}-20270314T1300Z", headers=therapist.headers).status_code == 404
    assert client.get("/fhir/Slot", headers=therapist.headers).status_code == 400  # FHIR: a bad search is a 400


def test_the_archive_round_trips_completed_and_imported_visits_with_their_notes(client, staff, db_url, template_db,
                                                                               tmp_path: Path, monkeypatch):
    admin, therapist, patient, *_ = _history(client, staff)
    pid = patient["id"]
    consent(client, therapist, pid)
    consent(client, therapist, pid, kind="electrical_stimulation")
    screen(client, therapist, pid)
    episode = client.get(f"/api/v1/patients/{pid}/episodes", headers=therapist.headers).json()["items"][0]
    visit = book(client, admin, pid, therapist, _ago(2), override_hours=True)
    visit = step(client, therapist, step(client, admin, visit, "arrive"), "complete")
    note = client.post(f"/api/v1/patients/{pid}/treatments", headers=therapist.headers,
                       json=session_body(episode["id"], appointment_id=visit["id"], needles_removed=6))
    assert note.status_code == 201, note.text
    assert client.post(f"/api/v1/treatments/{note.json()['id']}/sign", headers=therapist.headers).status_code == 200
    history = (f"Chart No,Therapist,Appointment Type,Date,Time,Status\n"
               f"{patient['chart_number']},{therapist.email},IMS treatment,2026-01-05,09:00,Attended\n")
    imported = client.post("/api/v1/imports/appointments", headers=admin.headers,
                           files={"file": ("a.csv", history.encode(), "text/csv")})
    assert imported.status_code == 201, imported.text
    first = _cli(monkeypatch, db_url, tmp_path, "export", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    archive = next((tmp_path / "a").glob("*.zip"))
    with zipfile.ZipFile(archive) as z:
        rows = [json.loads(line) for line in z.read("appointments.ndjson").splitlines()]
        treatments = [json.loads(line) for line in z.read("treatments.ndjson").splitlines()]
    assert len(rows) == 5 and sum(r["imported_at"] is not None for r in rows) == 1
    assert [t["appointment_id"] for t in treatments] == [visit["id"]]
    empty = template_db.empty()
    try:
        restored = _cli(monkeypatch, empty, tmp_path, "import-archive", str(archive))
        assert restored.exit_code == 0, restored.output
        again = _cli(monkeypatch, empty, tmp_path, "export", "--out", str(tmp_path / "b"))
        assert again.exit_code == 0
        assert _contents(archive) == _contents(next((tmp_path / "b").glob("*.zip")))
    finally:
        template_db.drop(empty)
