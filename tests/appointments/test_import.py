"""Appointments from another system's CSV: dry run first, all or nothing, double bookings refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.appointments.helpers import book, set_hours, step
from tests.factories import join_care_team, make_patient


def _recent() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()


def _csv(rows: list[str]) -> dict:
    body = "Chart No,Therapist,Appointment Type,Date,Time,Status,Notes,Unused\n" + "\n".join(rows) + "\n"
    return {"file": ("appointments.csv", body.encode(), "text/csv")}


def test_a_dry_run_reports_and_a_real_run_books_history_and_future(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    chart, email = patient["chart_number"], therapist.email
    rows = [f"{chart},{email},IMS treatment,2026-01-05,09:00,Attended,",
            f"{chart},{email.upper()},ims treatment,2026-01-12,09:00,DNA,",
            f"{chart},{email},Initial Gunn assessment,2027-03-15,18:00,booked,Evening (outside hours)"]
    dry = client.post("/api/v1/imports/appointments", params={"dry_run": "true"}, files=_csv(rows),
                      headers=admin.headers)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["accepted"], report["created"], report["invalid"]) == (3, 0, 0)
    assert report["ignored_columns"] == ["Unused"]
    assert client.get("/api/v1/appointments", headers=admin.headers).json()["items"] == []
    real = client.post("/api/v1/imports/appointments", files=_csv(rows), headers=admin.headers)
    assert real.status_code == 201, real.text and real.json()["created"] == 3
    items = client.get("/api/v1/appointments", params={"patient": patient["id"]}, headers=admin.headers).json()
    assert [(a["status"], a["start"], a["outside_hours"]) for a in items["items"]] == [
        ("completed", "2026-01-05T09:00:00-05:00", False), ("no_show", "2026-01-12T09:00:00-05:00", False),
        ("booked", "2027-03-15T18:00:00-04:00", True)]


def test_invalid_rows_and_double_bookings_are_reported_and_nothing_is_imported(client, staff):
    admin, therapist = staff("admin"), staff("therapist")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    taken = book(client, admin, patient["id"], therapist, "2027-03-15T09:00:00-04:00")
    chart, email = patient["chart_number"], therapist.email
    rows = [f"{chart},{email},IMS treatment,2027-03-16,09:00,booked,",     # fine
            f"NOPE,{email},IMS treatment,2027-03-16,10:00,booked,",        # unknown patient
            f"{chart},nobody@x.example,Massage,2027-03-16,11:00,maybe,",    # therapist, type and status
            f"{chart},{email},IMS treatment,16/03/2027,9am,booked,",        # unreadable date
            f"{chart},{email},IMS treatment,2027-03-15,09:15,booked,",      # overlaps the booked visit
            f"{chart},{email},IMS treatment,2027-03-16,09:15,booked,"]      # overlaps row 1 of this file
    dry = client.post("/api/v1/imports/appointments", params={"dry_run": "true"}, files=_csv(rows),
                      headers=admin.headers).json()
    fields = [[e["field"] for e in r["errors"]] for r in dry["rows"]]
    assert fields == [[], ["chart_number"], ["therapist_email", "type", "status"], ["start"], ["start"], ["start"]]
    assert taken["id"] in dry["rows"][4]["errors"][0]["message"]
    real = client.post("/api/v1/imports/appointments", files=_csv(rows), headers=admin.headers)
    assert real.status_code == 422 and "nothing was imported" in real.json()["detail"]
    assert len(client.get("/api/v1/appointments", headers=admin.headers).json()["items"]) == 1
    no_columns = client.post("/api/v1/imports/appointments", files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
                             headers=admin.headers)
    assert no_columns.status_code == 422 and no_columns.json()["errors"][0]["field"] == "file"
    assert client.post("/api/v1/imports/appointments", files=_csv(rows[:1]),
                       headers=staff("reception").headers).status_code == 403


def test_visits_imported_as_completed_are_history_not_unsigned_notes(client, staff):
    """Only a visit completed in IMS Chart without a signed note is on the worklist: an imported completed
    visit was documented in the system it came from."""
    admin, therapist, reception = staff("admin"), staff("therapist"), staff("reception")
    set_hours(client, admin, therapist)
    patient = make_patient(client, admin)
    join_care_team(client, admin, patient["id"], therapist)
    rows = [f"{patient['chart_number']},{therapist.email},IMS treatment,2026-01-05,09:00,Attended,"]
    assert client.post("/api/v1/imports/appointments", files=_csv(rows), headers=admin.headers).status_code == 201
    [imported] = client.get("/api/v1/appointments", params={"patient": patient["id"]},
                            headers=admin.headers).json()["items"]
    assert imported["status"] == "completed" and imported["imported_at"] is not None
    here = book(client, reception, patient["id"], therapist, _recent(), override_hours=True)
    assert here["imported_at"] is None
    here = step(client, therapist, step(client, reception, here, "arrive"), "complete")
    for member, params in ((therapist, {}), (admin, {"therapist": str(therapist.id)})):
        worklist = client.get("/api/v1/worklists/unsigned-notes", params=params, headers=member.headers)
        assert [w["appointment"]["id"] for w in worklist.json()["items"]] == [here["id"]]
